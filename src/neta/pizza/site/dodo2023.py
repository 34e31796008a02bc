"""2023 pages (dodopizza.ru/<city>, rendered by React): product cards grouped in category sections.

Class names are build hashes (``sc-1tpn8pe-3 LfZFz``) that change with every deploy, so nothing here
selects by class: a card is ``article[data-testid^="menu__meta-product_<id>"]``; the pizza section
is the ``<section>`` headed "Пиццы" (``section#guzhy`` on the real page, kept as a fallback); the
name is ``[data-gtm-id="product-title"]``; the ingredients are the card's remaining text outside the
picture, the title and the footer; the price is in the footer; the photos are every candidate of the
``<picture>`` (``source[srcset]``, ``img[src]``, and their lazy-loading ``data-`` twins).
"""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, Tag

from neta.errors import NetaError
from neta.pizza.site._text import (
    city_of,
    clean_name,
    is_build_your_own,
    largest_photo,
    normalise_space,
    parse_price,
    srcset_candidates,
)
from neta.pizza.site.records import MenuItem
from neta.scrape.adapter import ParsedPage

LAYOUT = "dodo2023"
CARD_ID_PREFIX = "menu__meta-product_"
CARD = f'article[data-testid^="{CARD_ID_PREFIX}"]'
PIZZA_HEADINGS = {"пиццы", "пицца", "pizza", "pizzas"}
PIZZA_SECTION_ID = "guzhy"  # the pizza category's anchor on the real page
# Parts of a card whose text is not the description.
_NOT_DESCRIPTION = {"picture", "footer", "button", "script", "style", "noscript", "svg"}


def matches(soup: BeautifulSoup) -> bool:
    return soup.select_one(CARD) is not None


def _heading(section: Tag) -> str:
    heading = section.find(["h1", "h2", "h3"])
    return normalise_space(heading.get_text(" ")) if heading is not None else ""


def pizza_section(soup: BeautifulSoup) -> Tag | None:
    for section in soup.find_all("section"):
        if _heading(section).casefold() in PIZZA_HEADINGS and section.select_one(CARD) is not None:
            return section
    return soup.find("section", id=PIZZA_SECTION_ID)


def _description(card: Tag, title: Tag | None) -> str:
    parts = []
    for node in card.find_all(string=True):
        if isinstance(node, Comment):
            continue
        outside = True
        for parent in node.parents:
            if parent is card:
                break
            if parent is title or parent.name in _NOT_DESCRIPTION:
                outside = False
                break
        if outside:
            parts.append(str(node))
    return normalise_space(" ".join(parts))


def _price(card: Tag) -> int | None:
    footer = card.find("footer")
    texts = [str(s) for s in (footer or card).find_all(string=True) if s.find_parent("button") is None]
    return parse_price(" ".join(texts))


def _photo_candidates(card: Tag, base: str) -> list[tuple[str, int | None]]:
    candidates: list[tuple[str, int | None]] = []
    for element in card.find_all(["source", "img"]):
        for attribute in ("srcset", "data-srcset"):
            if element.get(attribute):
                candidates += srcset_candidates(element[attribute], base)
        for attribute in ("src", "data-src"):
            src = (element.get(attribute) or "").strip()
            if src and not src.startswith("data:"):
                candidates.append((urljoin(base, src), None))
    return candidates


def _page_city(section: Tag, url: str, base: str) -> str:
    """The city of the page URL, or (a saved file) of the first product link: cards link /<city>/<id>."""
    links = (urljoin(base, a["href"]) for a in section.select(f'{CARD} [data-gtm-id="product-title"] a[href]'))
    return city_of(url) or next((city for city in map(city_of, links) if city), "")


def _card(card: Tag, url: str, base: str, city: str) -> MenuItem | str:
    """The menu item of one card, or a message saying why it cannot be read."""
    pizza_id = card["data-testid"][len(CARD_ID_PREFIX):].strip()
    title = card.select_one('[data-gtm-id="product-title"]')
    img = card.find("img", alt=True)
    name = clean_name(title.get_text(" ") if title is not None else (img["alt"] if img is not None else ""))
    where = f"{url}: pizza card {CARD_ID_PREFIX}{pizza_id}"
    if not pizza_id or not name:
        return f"{where}: no product id or no name ([data-gtm-id=product-title])"
    ingredients = _description(card, title)
    picture = card.find("picture")
    kind = (picture.get("data-type") or "") if picture is not None else ""  # "ProductFromHalves" on the real page
    custom = is_build_your_own(name, ingredients, kind)
    if not ingredients and not custom:
        return f"{where} ({name}): no ingredient text on the card"
    candidates = _photo_candidates(card, base)
    return MenuItem(
        pizza_id=pizza_id, name=name, ingredients=ingredients, image_url=largest_photo(candidates),
        image_urls=tuple(dict.fromkeys(u for u, _ in candidates)), price=_price(card), custom=custom,
        city=city, layout=LAYOUT, source_url=url,
    )


def parse(soup: BeautifulSoup, url: str, base: str) -> ParsedPage[MenuItem]:
    section = pizza_section(soup)
    if section is None:
        headings = [h for h in (_heading(s) for s in soup.find_all("section")) if h]
        raise NetaError(f"{url}: a Dodo menu in the 2023 layout without a pizza section (a <section> headed "
                        f"'Пиццы' or section#{PIZZA_SECTION_ID}); its sections: {', '.join(headings) or 'none'}")
    items, problems = [], []
    city = _page_city(section, url, base)
    for card in section.select(CARD):
        read = _card(card, url, base, city)
        (items if isinstance(read, MenuItem) else problems).append(read)
    if not items:
        raise NetaError(f"{url}: the pizza section holds no readable card: {'; '.join(problems) or 'no cards'}")
    return ParsedPage(items=items, links=[], layout=LAYOUT, problems=problems)
