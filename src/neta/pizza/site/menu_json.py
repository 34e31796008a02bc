"""The menu as JSON: a body ``{"items": [...]}`` (as a menu API answers), or a page holding it.

Accepted, leniently, because menu APIs differ between versions:

* where: the JSON body itself, or the text of a ``<pre>`` (a browser's saved view of a JSON URL) or of
  a ``<script type="application/json">``; the ``items`` list at the top or one level down
  (``{"menu": {"items": [...]}}``);
* which items are pizzas: ``category``, ``categoryName``, ``type``, ``productType`` or ``group`` (a
  string, or an object with ``name``/``type``/``slug``) equal to "Пиццы", "Пицца", "pizza" or
  "pizzas", any case; other items are skipped;
* per item: ``id`` (or ``productId``, ``slug``, ``code``); ``name`` (or ``title``); ingredients in
  ``description`` (or ``ingredients``: a string, or a list of strings or of objects with ``name``);
  photos in ``image``, ``imageUrl``, ``image_url``, ``photo``, ``images``, ``imageUrls``,
  ``image_urls`` or ``photos`` (a URL, an object with ``url``/``src`` and ``width``, or a list of
  either); price in ``price`` (a number, a numeric string, or an object with ``value``/``amount``) or
  the smallest of ``prices``/``sizes``; ``custom``/``isCustom``, else the build-your-own names;
  ``city`` on the item or at the top, else the page URL's city.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from neta.errors import NetaError
from neta.pizza.site._text import city_of, clean_name, is_build_your_own, largest_photo, normalise_space, parse_price
from neta.pizza.site.records import MenuItem
from neta.scrape.adapter import ParsedPage

LAYOUT = "menu_json"
PIZZA_CATEGORIES = {"пиццы", "пицца", "pizza", "pizzas"}
_CATEGORY_KEYS = ("category", "categoryName", "category_name", "type", "productType", "product_type", "group")
_ID_KEYS = ("id", "productId", "product_id", "slug", "code")
_IMAGE_KEYS = ("image", "imageUrl", "image_url", "photo", "images", "imageUrls", "image_urls", "photos")


def _menu(data) -> dict | None:
    """The object holding the ``items`` list, at the top or one level down."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("items"), list):
        return data
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            return value
    return None


def _load(text: str | None) -> dict | None:
    text = (text or "").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if _menu(data) is not None else None


def from_text(text: str) -> dict | None:
    """The JSON document when the body itself is menu JSON."""
    return _load(text)


def from_soup(soup: BeautifulSoup) -> dict | None:
    """The JSON document when a page holds menu JSON in a ``<pre>`` or a JSON ``<script>``."""
    for element in soup.select('pre, script[type="application/json"]'):
        menu = _load(element.get_text())
        if menu is not None:
            return menu
    return None


def _first(item: dict, keys) -> object:
    return next((item[key] for key in keys if item.get(key) not in (None, "", [])), None)


def _category(item: dict) -> str:
    for key in _CATEGORY_KEYS:
        value = item.get(key)
        if isinstance(value, dict):
            value = value.get("name") or value.get("type") or value.get("slug")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _ingredients(item: dict) -> str:
    value = _first(item, ("description", "ingredients"))
    if isinstance(value, list):
        names = [v.get("name", "") if isinstance(v, dict) else str(v) for v in value]
        value = ", ".join(n for n in names if n)
    return normalise_space(value) if isinstance(value, str) else ""


def _photo_candidates(value, base: str) -> Iterator[tuple[str, int | None]]:
    if isinstance(value, str) and value.strip():
        yield urljoin(base, value.strip()), None
    elif isinstance(value, dict):
        url = value.get("url") or value.get("src")
        width = value.get("width") or value.get("size")
        if isinstance(url, str) and url.strip():
            yield urljoin(base, url.strip()), width if isinstance(width, int) else None
    elif isinstance(value, list):
        for entry in value:
            yield from _photo_candidates(entry, base)


def _price(item: dict) -> int | None:
    def one(value) -> int | None:
        if isinstance(value, dict):
            value = value.get("value", value.get("amount", value.get("price")))
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return round(value)
        return parse_price(value) if isinstance(value, str) else None

    price = one(item.get("price"))
    if price is None:
        listed = [one(v) for v in (item.get("prices") or item.get("sizes") or []) if isinstance(v, dict | int | float)]
        price = min((p for p in listed if p is not None), default=None)
    return price


def parse(document: dict, url: str, base: str) -> ParsedPage[MenuItem]:
    menu = _menu(document)
    items, problems, categories = [], [], set()
    city = next((c for c in (menu.get("city"), document.get("city")) if isinstance(c, str) and c), "")
    for index, entry in enumerate(menu["items"]):
        if not isinstance(entry, dict):
            continue
        category = _category(entry)
        categories.add(category)
        if category.casefold() not in PIZZA_CATEGORIES:
            continue
        pizza_id = _first(entry, _ID_KEYS)
        name = clean_name(str(_first(entry, ("name", "title")) or ""))
        where = f"{url}: items[{index}]" + (f" ({name})" if name else "")
        if pizza_id is None or not name:
            problems.append(f"{where}: a pizza without an id or a name")
            continue
        ingredients = _ingredients(entry)
        custom = bool(entry.get("custom") or entry.get("isCustom")) or is_build_your_own(name, ingredients)
        if not ingredients and not custom:
            problems.append(f"{where}: pizza {pizza_id} has no ingredient text (description)")
            continue
        candidates = [c for key in _IMAGE_KEYS for c in _photo_candidates(entry.get(key), base)]
        items.append(MenuItem(
            pizza_id=str(pizza_id), name=name, ingredients=ingredients, image_url=largest_photo(candidates),
            image_urls=tuple(dict.fromkeys(u for u, _ in candidates)), price=_price(entry), custom=custom,
            city=entry.get("city") if isinstance(entry.get("city"), str) else (city or city_of(url)),
            layout=LAYOUT, source_url=url,
        ))
    if not items and not problems:
        seen = ", ".join(sorted(c or "none" for c in categories)) or "no items"
        raise NetaError(f"{url}: menu JSON with {len(menu['items'])} items, none a pizza (category or type "
                        f"'Пиццы' / 'pizza'); categories seen: {seen}")
    return ParsedPage(items=items, links=[], layout=LAYOUT, problems=problems)
