"""2013 XHTML list pages: one ``div.boke-entry#boke-entry-<id>`` per boke, each with its odai photo."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from neta.boke.site._html import element_text, parse_count
from neta.boke.site.links import anchor_hrefs, select_links
from neta.boke.site.records import Boke
from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage

LAYOUT = "xhtml2013"
_ENTRY_ID = re.compile(r"^boke-entry-(\d+)$")
_ODAI_HREF = re.compile(r"/odai/(\d+)")
# "★ の合計 1324（595）": star total in <em>, number of raters in (full-width) parentheses after it.
_RATERS = re.compile(r"[（(]\s*([\d,]+)\s*[)）]")


def entries(soup: BeautifulSoup) -> list[Tag]:
    return [div for div in soup.find_all("div", class_="boke-entry") if _ENTRY_ID.match(div.get("id", ""))]


def matches(soup: BeautifulSoup) -> bool:
    return bool(entries(soup))


def _fail(url: str, boke_id: int, what: str) -> NetaError:
    return NetaError(
        f"{url}: boke-entry-{boke_id} (xhtml2013 layout) has no {what}; "
        "the page is truncated or not a bokete list page — re-fetch it or parse it as another layout"
    )


def _entry(div: Tag, url: str, base: str) -> Boke:
    boke_id = int(_ENTRY_ID.match(div["id"]).group(1))
    text_el = div.find("p", class_="boke_read")
    if text_el is None:
        raise _fail(url, boke_id, "p.boke_read text")
    photo = div.find("div", class_="photo")
    odai_link = photo.find("a", href=_ODAI_HREF) if photo else None
    img = photo.find("img", src=True) if photo else None
    if odai_link is None or img is None:
        raise _fail(url, boke_id, "odai link and photo in div.photo")
    header = div.find("span", class_="accordion-header")
    star_el = header.find("em") if header else None
    stars = parse_count(star_el.get_text()) if star_el else None
    if stars is None:
        raise _fail(url, boke_id, "star total in span.accordion-header em")
    after_stars = "".join(str(s) for s in star_el.next_siblings if isinstance(s, str))
    raters = _RATERS.search(after_stars)
    return Boke(
        boke_id=boke_id,
        odai_id=int(_ODAI_HREF.search(odai_link["href"]).group(1)),
        text=element_text(text_el),
        stars=stars,
        votes=int(raters.group(1).replace(",", "")) if raters else None,
        image_url=urljoin(base, img["src"].strip()),
        date=None,  # the 2013 pages only say "5時間くらい前"
        source_url=url,
        layout=LAYOUT,
    )


def parse(soup: BeautifulSoup, url: str, base: str) -> ParsedPage:
    bokes = [_entry(div, url, base) for div in entries(soup)]
    return ParsedPage(layout=LAYOUT, items=bokes, links=select_links(anchor_hrefs(soup), url, base))
