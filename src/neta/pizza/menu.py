"""The crawled menu (``menu.csv``, written by the scrape) as the later pizza stages read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neta.tables import read_table

MENU_REQUIRED = ("pizza_id", "name", "ingredients", "image_url", "custom")


def read_menu(path: str | Path) -> pd.DataFrame:
    return read_table(path, MENU_REQUIRED, "the scrape stage (`neta scrape dodo`)")


def is_custom(menu: pd.DataFrame) -> pd.Series:
    return menu["custom"].str.strip().str.lower().isin(("true", "1", "yes"))


def recipe_photo_urls(menu_path: str | Path) -> list[str]:
    """The photo URL of every pizza with a recipe (build-your-own cards have none), first-seen order."""
    menu = read_menu(menu_path)
    urls = menu.loc[~is_custom(menu), "image_url"].str.strip()
    return list(dict.fromkeys(url for url in urls if url))
