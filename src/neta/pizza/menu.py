"""The crawled menu (``menu.csv``, written by the scrape) as the later pizza stages read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neta.errors import NetaError

MENU_REQUIRED = ("pizza_id", "name", "ingredients", "image_url", "custom")


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
