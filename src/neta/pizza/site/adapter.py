"""Dodo Pizza as a crawl target (config section ``pizza``): the site adapter and the menu.csv it writes.

A 2017 crawl sees each pizza twice: on the menu page (name, ingredients, price, the product link)
and in its product popup (name, ingredients, price and the photos). The two records are merged into
one: the popup's, which is the record with the top-view photo, wins every field it has (its
ingredient text is the product's own, the text the original project kept) and the menu page's fills
the gaps. A pizza whose popup failed keeps its menu record without a photo and is still written:
the crawl has recorded the popup's failure, and the photo and augmentation stages name it again as
"no photo URL on the menu", rather than the menu silently losing a pizza.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from neta.atomic import write_csv
from neta.errors import NetaError
from neta.pizza.site import parse_dodo
from neta.pizza.site._text import first_segment
from neta.pizza.site.records import MENU_COLUMNS, MenuItem
from neta.scrape.adapter import SiteAdapter

log = logging.getLogger(__name__)


def dodo_adapter(*, start_urls: Iterable[str]) -> SiteAdapter[MenuItem]:
    """Crawl Dodo Pizza menus into menu.csv, keeping every menu item (build-your-own cards flagged).

    ``start_urls`` are the city menus to crawl (``…/Kaliningrad``, ``…/moscow``); the crawl stays
    inside their cities: a link or redirect to another city's path (``/Kaliningrad/…`` →
    ``/Moscow/…``) is recorded as off-scope, not fetched. Items are one a ``pizza_id``: crawling two
    cities with the same product keeps the first city's record.
    """
    return SiteAdapter(
        name="pizza",
        parse=parse_dodo,
        key=lambda item: item.pizza_id,
        merge=merge_menu_records,
        complete=lambda item: bool(item.image_url),
        in_scope=city_scope(start_urls),
        keep_rule="every menu item",
        write=write_menu_csv,
    )


def city_scope(start_urls: Iterable[str]) -> Callable[[str], bool]:
    """Whether a URL lies under one of the start URLs' cities (first path segment, any case)."""
    cities = set()
    for url in start_urls:
        city = first_segment(url)
        if not city:
            raise NetaError(f"pizza.start_paths: {url} names no city; a Dodo crawl starts at city menus such as "
                            "/Kaliningrad or /moscow")
        cities.add(city.casefold())
    return lambda url: first_segment(url).casefold() in cities


def merge_menu_records(kept: MenuItem, new: MenuItem) -> MenuItem:
    """One record of a pizza seen twice: the one with a photo (the popup) wins every field it has and
    the other fills the gaps; between two with photos (or two without), the one kept so far wins, so
    the result follows crawl order."""
    primary, other = (new, kept) if new.image_url and not kept.image_url else (kept, new)
    merged = {}
    for field in dataclasses.fields(MenuItem):
        mine, theirs = getattr(primary, field.name), getattr(other, field.name)
        merged[field.name] = mine if mine not in ("", (), None) else theirs
    merged["custom"] = primary.custom or other.custom
    return MenuItem(**merged)


def menu_frame(items: Iterable[MenuItem]) -> pd.DataFrame:
    frame = pd.DataFrame([[getattr(item, c) for c in MENU_COLUMNS] for item in items], columns=MENU_COLUMNS)
    frame = frame.sort_values("pizza_id", kind="stable").reset_index(drop=True)
    frame["price"] = frame["price"].astype("Int64")  # a price may be missing; keep it integer, not float
    frame["custom"] = frame["custom"].astype(bool)
    return frame


def write_menu_csv(items: Iterable[MenuItem], path: str | Path) -> None:
    """Write menu items sorted by pizza_id as UTF-8 CSV (MENU_COLUMNS), atomically."""
    frame = menu_frame(items)
    write_csv(path, frame)
    without_photo = int((frame["image_url"] == "").sum())
    log.info("wrote %s (%d menu items, %d build-your-own, %d without a photo)", path, len(frame),
             int(frame["custom"].sum()), without_photo)
