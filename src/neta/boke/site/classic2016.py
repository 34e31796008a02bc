"""2016–2020 pages: ``#content > div.boke`` blocks.

On an odai page the first block is the odai (its photo in ``div.photo-content``) and the rest are its
bokes; on list pages (/boke/hot, /boke/legend) every block carries its own photo and odai link.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin

from bs4 import BeautifulSoup, Tag

from neta.boke.site._html import element_text, parse_count, parse_date
from neta.boke.site.links import anchor_hrefs, select_links
from neta.boke.site.records import Boke
from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage

LAYOUT = "classic2016"
_BOKE_HREF = re.compile(r"/boke/(\d+)")
_ODAI_HREF = re.compile(r"/odai/(\d+)")
# Angular-era pages kept the text URL-encoded in ng-init="text='...'" as well as in the element.
_NG_TEXT = re.compile(r"'([^']*)'")


def blocks(soup: BeautifulSoup) -> list[Tag]:
    return soup.select("#content > div.boke")


def matches(soup: BeautifulSoup) -> bool:
    return bool(blocks(soup))


def _photo(block: Tag, base: str) -> tuple[str | None, int | None]:
    content = block.find("div", class_="photo-content")
    img = content.find("img", src=True) if content else None
    if img is None:
        return None, None
    link = img.find_parent("a", href=_ODAI_HREF) or content.find("a", href=_ODAI_HREF)
    odai_id = int(_ODAI_HREF.search(link["href"]).group(1)) if link else None
    return urljoin(base, img["src"].strip()), odai_id


def _text(anchor: Tag) -> str:
    inner = anchor.find("div") or anchor
    text = element_text(inner)
    if not text and inner.get("ng-init"):
        encoded = _NG_TEXT.search(inner["ng-init"])
        text = unquote(encoded.group(1)).strip() if encoded else ""
    return text


def parse(soup: BeautifulSoup, url: str, base: str) -> ParsedPage:
    page_odai = _ODAI_HREF.search(url)
    odai_photo: str | None = None
    odai_id: int | None = int(page_odai.group(1)) if page_odai else None
    bokes: list[Boke] = []
    for index, block in enumerate(blocks(soup)):
        photo, photo_odai = _photo(block, base)
        if photo is not None:
            # A block with a photo starts a new odai context (the odai block, or a list entry).
            odai_photo, odai_id = photo, photo_odai if photo_odai is not None else odai_id
        anchor = block.find("a", class_="boke-text", href=_BOKE_HREF)
        if anchor is None:
            continue
        where = f"{url}: div.boke #{index} (classic2016 layout)"
        boke_id = int(_BOKE_HREF.search(anchor["href"]).group(1))
        text = _text(anchor)
        if not text:
            raise NetaError(f"{where}, boke {boke_id}: a.boke-text has no text; re-fetch the page")
        stars_el = block.find("div", class_="boke-stars")
        stars = parse_count(stars_el.get_text(" ")) if stars_el else None
        if stars is None:
            raise NetaError(f"{where}, boke {boke_id}: no star count in div.boke-stars; re-fetch the page")
        if odai_photo is None or odai_id is None:
            raise NetaError(
                f"{where}, boke {boke_id}: no odai photo (div.photo-content img) or odai id before it; "
                "the page is incomplete"
            )
        label = block.find(class_="boke-information-label")
        bokes.append(
            Boke(
                boke_id=boke_id,
                odai_id=odai_id,
                text=text,
                stars=stars,
                votes=None,
                image_url=odai_photo,
                date=parse_date(label.get_text(" ")) if label else None,
                source_url=url,
                layout=LAYOUT,
            )
        )
    return ParsedPage(layout=LAYOUT, items=bokes, links=select_links(anchor_hrefs(soup), url, base))
