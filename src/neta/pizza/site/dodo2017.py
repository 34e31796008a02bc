"""2017 pages (dodopizza.ru/<City>): the menu page and each pizza's product popup.

The menu lists ``div.prod_pizzas div.prod_block``: name in ``h3.prod_header a span``, ingredients
in ``div.prod_contains``, the product link ``/<City>/Product/<slug>`` on the heading. The site's own
script fetched that link with ``X-Requested-With: XMLHttpRequest`` and got the popup fragment
``div.popup_prod_cont``: a name heading, its own ``div.prod_contains``, the price and the photos in
``div.product_slides ul.slides li img``, three of them, the third the top view (a 710×380 product
shot with the pizza seen from above). A browser visiting the link got a full page holding the same
block, which parses the same way.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from neta.errors import NetaError
from neta.pizza.site._text import city_of, clean_name, is_build_your_own, normalise_space, parse_price
from neta.pizza.site.records import MenuItem
from neta.scrape.adapter import LinkWithHeaders, ParsedPage

LAYOUT = "dodo2017"
XHR_HEADERS = {"X-Requested-With": "XMLHttpRequest"}
PRODUCT_PATH = re.compile(r"^/(?P<city>[^/]+)/Product/(?P<slug>[^/?#]+)/?$")
TOP_VIEW = 2  # index of the top-view photo among the popup's photos


def popup(soup: BeautifulSoup) -> Tag | None:
    return soup.select_one("div.popup_prod_cont")


def menu_blocks(soup: BeautifulSoup) -> list[Tag]:
    return soup.select("div.prod_pizzas div.prod_block")


def matches(soup: BeautifulSoup) -> bool:
    return popup(soup) is not None or bool(menu_blocks(soup))


def parse(soup: BeautifulSoup, url: str, base: str) -> ParsedPage[MenuItem]:
    block = popup(soup)
    return parse_popup(block, url, base) if block is not None else parse_menu(soup, url, base)


def _text(element: Tag | None) -> str:
    return normalise_space(element.get_text()) if element is not None else ""


def _price(element: Tag) -> int | None:
    price = element.select_one("div.prod_price_value span.value") or element.select_one("div.prod_price_value")
    return parse_price(price.get_text(" ")) if price is not None else None


def _photos(element: Tag, base: str) -> list[str]:
    urls = []
    for img in element.find_all("img"):
        src = (img.get("src") or img.get("data-src") or "").strip()
        if src and not src.startswith("data:"):
            urls.append(urljoin(base, src))
    return list(dict.fromkeys(urls))


def parse_menu(soup: BeautifulSoup, url: str, base: str) -> ParsedPage[MenuItem]:
    """One record a pizza of the menu (no top view yet: that comes with its popup), and the product
    links to fetch as the site's script did."""
    items, links, problems = [], [], []
    for index, block in enumerate(menu_blocks(soup)):
        heading = block.select_one("h3.prod_header")
        anchor = heading.find("a", href=True) if heading is not None else None
        name = clean_name(_text(anchor.find("span") or anchor) if anchor is not None else _text(heading))
        product_url = urljoin(base, anchor["href"].strip()) if anchor is not None else ""
        product = PRODUCT_PATH.match(urlsplit(product_url).path)
        if product is None:
            problems.append(f"{url}: prod_block #{index} ({name or 'no name'!r}): its h3.prod_header has no "
                            "/<City>/Product/<slug> link, so its photos cannot be fetched")
            continue
        if not name:
            problems.append(f"{url}: prod_block #{index} (product {product['slug']}): no name in h3.prod_header")
            continue
        ingredients = _text(block.select_one("div.prod_contains"))
        items.append(MenuItem(
            pizza_id=product["slug"], name=name, ingredients=ingredients, image_url="",
            image_urls=tuple(_photos(block, base)), price=_price(block),
            custom=is_build_your_own(name, ingredients), city=city_of(product_url) or city_of(url),
            layout=LAYOUT, source_url=url,
        ))
        links.append(LinkWithHeaders(product_url, XHR_HEADERS))
    return ParsedPage(items=items, links=links, layout=LAYOUT, problems=problems)


def parse_popup(block: Tag, url: str, base: str) -> ParsedPage[MenuItem]:
    """The one pizza of a product popup (or full product page), with its photos. The pizza is the one
    the URL names (or, for a saved file, the page's canonical URL)."""
    product = PRODUCT_PATH.match(urlsplit(url).path) or PRODUCT_PATH.match(urlsplit(base).path)
    if product is None:
        raise NetaError(f"{url}: a 2017 product popup, but the URL is not /<City>/Product/<slug>, so the pizza "
                        "is unknown; give the URL the page was fetched from (--url)")
    slug = product["slug"]
    name = clean_name(_text(block.find(["h1", "h2", "h3"])))
    where = f"{url}: popup of pizza {slug!r}" + (f" ({name})" if name else "")
    ingredients = _text(block.select_one("div.prod_contains"))
    if not ingredients and not is_build_your_own(name):
        raise NetaError(f"{where}: no ingredient text in div.prod_contains")
    slides = block.select_one("div.product_slides ul.slides")
    photos = _photos(slides, base) if slides is not None else []
    if len(photos) <= TOP_VIEW:
        raise NetaError(f"{where}: {len(photos)} photos in div.product_slides ul.slides, but the top view is the "
                        f"photo #{TOP_VIEW + 1}")
    item = MenuItem(
        pizza_id=slug, name=name, ingredients=ingredients, image_url=photos[TOP_VIEW], image_urls=tuple(photos),
        price=_price(block), custom=is_build_your_own(name, ingredients), city=city_of(product.string),
        layout=LAYOUT, source_url=url,
    )
    return ParsedPage(items=[item], links=[], layout=LAYOUT)
