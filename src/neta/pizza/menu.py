"""The crawled menu joined to its downloaded photos and its recipes: what the augmentation reads.

``menu.csv`` (the scrape) names each pizza's photo URL, ``images/manifest.csv`` (the download) says
where that URL's file is and whether it passed its checks, ``recipes.json`` holds each pizza's
one-hot recipe. A pizza missing from any of them is not dropped silently: it is returned as a
failure naming the pizza and why, for the stage to report and count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neta.errors import NetaError

MENU_REQUIRED = ("pizza_id", "name", "ingredients", "image_url", "custom")
MANIFEST_REQUIRED = ("url", "path", "status", "error")


@dataclass(frozen=True)
class PizzaPhoto:
    pizza_id: str
    image_path: Path
    recipe: np.ndarray  # (slots, V+1) uint8 one-hot


def read_table(path: str | Path, required: tuple[str, ...], made_by: str) -> pd.DataFrame:
    """A UTF-8 CSV with at least the ``required`` columns, all read as text."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise NetaError(f"{path}: cannot read as CSV ({exc}); rerun {made_by}, which writes it") from exc
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise NetaError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(frame.columns)}); "
                        f"it must be the file {made_by} writes")
    return frame


def read_menu(path: str | Path) -> pd.DataFrame:
    return read_table(path, MENU_REQUIRED, "the scrape stage (`neta scrape dodo`)")


def is_custom(menu: pd.DataFrame) -> pd.Series:
    return menu["custom"].str.strip().str.lower().isin(("true", "1", "yes"))


def recipe_photo_urls(menu_path: str | Path) -> list[str]:
    """The photo URL of every pizza with a recipe (build-your-own cards have none), first-seen order."""
    menu = read_menu(menu_path)
    urls = menu.loc[~is_custom(menu), "image_url"].str.strip()
    return list(dict.fromkeys(url for url in urls if url))


def pizza_photos(menu_path, manifest_path, recipes: dict) -> tuple[list[PizzaPhoto], list[dict]]:
    """(photos to augment, failures) for every recipe pizza of the menu, in pizza_id order."""
    from neta.pizza.recipes import recipe_matrices

    menu = read_menu(menu_path)
    manifest = read_table(manifest_path, MANIFEST_REQUIRED, "the download stage (`neta download dodo`)")
    files = {row.url: row for row in manifest.itertuples(index=False)}
    encoded = {pizza["pizza_id"] for pizza in recipes["pizzas"]}
    photos, failures = [], []
    for row in menu[~is_custom(menu)].sort_values("pizza_id").itertuples(index=False):
        why = None
        download = files.get(row.image_url.strip()) if row.image_url.strip() else None
        if row.pizza_id not in encoded:
            why = "no recipe (see the skipped list in recipes.json)"
        elif download is None:
            why = "no photo URL on the menu" if not row.image_url.strip() else "photo not in the image manifest"
        elif download.status != "ok":
            why = f"photo download failed: {download.status} ({download.error})"
        if why is not None:
            failures.append({"pizza_id": row.pizza_id, "name": row.name, "reason": why})
            continue
        image_path = Path(manifest_path).parent / download.path
        matrix = recipe_matrices(recipes, [row.pizza_id])[0]
        photos.append(PizzaPhoto(row.pizza_id, image_path, matrix))
    return photos, failures
