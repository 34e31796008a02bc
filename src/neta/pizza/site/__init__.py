"""Dodo Pizza menu parsers: detect the layout of a page and turn it into menu items.

Layouts, in the order detection tries them: ``menu_json`` (a JSON body with ``items``, or a page
holding one), ``dodo2023`` (``article[data-testid^=menu__meta-product_]`` cards), ``dodo2017``
(``div.prod_pizzas div.prod_block`` menus and their ``div.popup_prod_cont`` product popups).
"""

from __future__ import annotations

import logging
from pathlib import Path

from neta.errors import NetaError
from neta.pizza.site import dodo2017, dodo2023, menu_json
from neta.pizza.site.records import MENU_COLUMNS, MenuItem
from neta.scrape.adapter import ParsedPage
from neta.scrape.charset import decode_html, make_soup
from neta.scrape.saved_page import parse_saved_page, records_to_json_lines

log = logging.getLogger(__name__)

LAYOUTS = ("menu_json", "dodo2023", "dodo2017")
# Where links in a saved page point when the caller does not say where the page came from.
DEFAULT_BASE_URL = "https://dodopizza.ru/"


def parse_dodo(html: bytes | str, url: str, *, base_url: str | None = None) -> ParsedPage[MenuItem]:
    """Parse one Dodo Pizza page (or menu JSON) in any known layout.

    ``url`` is recorded as each item's ``source_url`` and resolves relative links and photo URLs,
    unless ``base_url`` is given for that. Bytes are decoded by the page's own declaration
    (neta.scrape.charset). A page in no known layout raises NetaError naming ``url``.
    """
    text = html if isinstance(html, str) else decode_html(html)
    base = base_url or url
    menu = menu_json.from_text(text)
    soup = None
    if menu is None:
        soup = make_soup(text)
        menu = menu_json.from_soup(soup)
    if menu is not None:
        page = menu_json.parse(menu, url, base)
    elif dodo2023.matches(soup):
        page = dodo2023.parse(soup, url, base)
    elif dodo2017.matches(soup):
        page = dodo2017.parse(soup, url, base)
    else:
        title = soup.title.get_text(" ", strip=True)[:80] if soup.title else "no <title>"
        raise NetaError(
            f"{url}: not a Dodo Pizza menu page in any known layout ({', '.join(LAYOUTS)}); page title: {title!r}. "
            "Check that the URL is a city menu (/<City>), a 2017 product popup or menu JSON"
        )
    log.debug("%s: %s layout, %d items, %d links, %d unreadable", url, page.layout, len(page.items),
              len(page.links), len(page.problems))
    return page


def parse_dodo_file(path: str | Path, url: str | None = None) -> ParsedPage[MenuItem]:
    """Parse a saved page. Without ``url`` the records name the file, and relative links resolve
    against the page's canonical URL when it states one, else against https://dodopizza.ru/."""
    page = parse_saved_page(path, url, parse_dodo, default_base_url=DEFAULT_BASE_URL, what="menu items")
    for problem in page.problems:
        log.warning("%s", problem)
    return page


def menu_to_json_lines(page: ParsedPage[MenuItem]) -> str:
    """One JSON object a menu item (keys in MENU_COLUMNS order, then image_urls), newline-terminated."""
    return records_to_json_lines(page.items, [*MENU_COLUMNS, "image_urls"])


__all__ = ["LAYOUTS", "MENU_COLUMNS", "MenuItem", "parse_dodo", "parse_dodo_file", "menu_to_json_lines"]
