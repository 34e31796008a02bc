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

from neta.pizza.menu import is_custom, read_menu
from neta.pizza.recipes import recipe_matrices
from neta.tables import read_table

MANIFEST_REQUIRED = ("url", "path", "status", "error")


@dataclass(frozen=True)
class PizzaPhoto:
    pizza_id: str
    image_path: Path
    recipe: np.ndarray  # (slots, V+1) uint8 one-hot


def pizza_photos(menu_path, manifest_path, recipes: dict) -> tuple[list[PizzaPhoto], list[dict]]:
    """(photos to augment, failures) for every recipe pizza of the menu, in pizza_id order."""
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
