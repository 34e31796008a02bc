"""Current Next.js pages: the data sits as JSON in ``<script id="__NEXT_DATA__">``.

Where in ``props.pageProps`` the odai and the bokes sit differs between page kinds (odai page, boke
page, list pages), so the JSON is walked: dicts under a key naming an odai (``odai``, ``odais``, …) are
odais, dicts under a key naming a boke (``bokes``, ``boke``, …) or carrying ``odaiId`` are bokes.
The fields a record needs are then required, and a missing one is an error naming the JSON path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from neta.boke.site._html import parse_date
from neta.boke.site.links import anchor_hrefs, select_links
from neta.boke.site.records import Boke
from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage

LAYOUT = "nextjs"
_ODAI_KEY = re.compile(r"odai", re.I)
_BOKE_KEY = re.compile(r"boke", re.I)
# Preference order for the odai photo: the large rendition is what the site shows on odai pages.
_PHOTO_KEYS = ("largeUrl", "originalUrl", "url", "mediumUrl", "smallUrl")


@dataclass
class _Odai:
    odai_id: int
    photo_url: str | None
    path: str


def script(soup: BeautifulSoup) -> Tag | None:
    return soup.find("script", id="__NEXT_DATA__")


def matches(soup: BeautifulSoup) -> bool:
    return script(soup) is not None


def _walk(node: Any, path: str, key: str, odai_ctx: int | None) -> Iterator[tuple[str, str, dict, int | None]]:
    """Yield (kind, path, dict, enclosing odai id) for every odai/boke-looking dict below ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]", key, odai_ctx)
        return
    if not isinstance(node, dict):
        return
    kind = None
    if _ODAI_KEY.search(key) and not _BOKE_KEY.search(key) and "id" in node:
        kind = "odai"
    elif _BOKE_KEY.search(key) or "odaiId" in node:
        kind = "boke"
    if kind:
        yield kind, path, node, odai_ctx
    if kind == "odai" and isinstance(node.get("id"), int):
        odai_ctx = node["id"]
    for child_key, child in node.items():
        if isinstance(child, (dict, list)):
            yield from _walk(child, f"{path}.{child_key}", child_key, odai_ctx)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _photo_url(odai: dict, base: str) -> str | None:
    photo = odai.get("photo")
    candidates = photo if isinstance(photo, dict) else odai
    for key in _PHOTO_KEYS:
        value = candidates.get(key)
        if isinstance(value, str) and value.strip():
            return urljoin(base, value.strip())
    return None


def _pagination(props: dict, url: str) -> list[str]:
    """?page=N+1 of this page when pageProps says there are more pages."""
    holder = props.get("pagination") if isinstance(props.get("pagination"), dict) else props
    page = _as_int(holder.get("page", holder.get("currentPage")))
    total = _as_int(holder.get("totalPages", holder.get("lastPage")))
    following = _as_int(holder.get("nextPage"))
    if following is None and page is not None and total is not None and page < total:
        following = page + 1
    if following is None:
        return []
    parts = urlsplit(url)
    return [urlunsplit((parts.scheme, parts.netloc, parts.path, f"page={following}", ""))]


def parse(soup: BeautifulSoup, url: str, base: str) -> ParsedPage:
    tag = script(soup)
    try:
        data = json.loads(tag.string or "")
    except json.JSONDecodeError as exc:
        raise NetaError(f"{url}: __NEXT_DATA__ is not valid JSON ({exc}); the page is truncated — re-fetch it") from exc
    props = data.get("props", {}).get("pageProps") if isinstance(data, dict) else None
    if not isinstance(props, dict):
        raise NetaError(f"{url}: __NEXT_DATA__ has no props.pageProps object; not a bokete page of the Next.js layout")

    found = list(_walk(props, "props.pageProps", "pageProps", None))
    odais: dict[int, _Odai] = {}
    for kind, path, node, _ in found:
        if kind != "odai":
            continue
        odai_id = _as_int(node.get("id"))
        if odai_id is None:
            raise NetaError(f"{url}: odai at {path} has no integer 'id'")
        known = odais.get(odai_id)
        photo = _photo_url(node, base)
        if known is None or (known.photo_url is None and photo is not None):
            odais[odai_id] = _Odai(odai_id, photo, path)

    bokes: dict[int, Boke] = {}
    for kind, path, node, odai_ctx in found:
        if kind != "boke":
            continue
        boke_id = _as_int(node.get("id"))
        if boke_id is None:
            raise NetaError(f"{url}: boke at {path} has no integer 'id'; the page data changed shape")
        text = node.get("text")
        if not isinstance(text, str) or not text.strip():
            raise NetaError(f"{url}: boke {boke_id} at {path} has no 'text'")
        stars = _as_int(node.get("rateSum"))
        if stars is None:
            raise NetaError(f"{url}: boke {boke_id} at {path} has no integer 'rateSum' (star total)")
        nested = node.get("odai") if isinstance(node.get("odai"), dict) else {}
        odai_id = _as_int(node.get("odaiId")) or _as_int(nested.get("id")) or odai_ctx
        if odai_id is None and len(odais) == 1:
            odai_id = next(iter(odais))
        if odai_id is None:
            raise NetaError(f"{url}: boke {boke_id} at {path} has no 'odaiId' and no enclosing odai")
        odai = odais.get(odai_id)
        if odai is None or odai.photo_url is None:
            raise NetaError(
                f"{url}: boke {boke_id} at {path} refers to odai {odai_id}, but the page gives no photo "
                "(photo.largeUrl) for it"
            )
        date = node.get("date", node.get("createdAt"))
        boke = Boke(
            boke_id=boke_id,
            odai_id=odai_id,
            text=text.strip(" \t\r\n"),
            stars=stars,
            votes=_as_int(node.get("rateCount")),
            image_url=odai.photo_url,
            date=parse_date(date) if isinstance(date, str) else None,
            source_url=url,
            layout=LAYOUT,
        )
        bokes.setdefault(boke_id, boke)  # the same boke may appear in a main list and a sidebar

    hrefs = anchor_hrefs(soup)
    hrefs += [f"/odai/{odai_id}" for odai_id in odais]
    hrefs += [f"/boke/{boke_id}" for boke_id in bokes]
    hrefs += _pagination(props, url)
    return ParsedPage(layout=LAYOUT, items=list(bokes.values()), links=select_links(hrefs, url, base))
