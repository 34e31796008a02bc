"""Which links on a bokete page a crawler should follow, as normalised absolute URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

_ITEM_PATH = re.compile(r"^/(?:odai|boke)/\d+/?$")


def _page_number(query: str) -> int | None:
    for key, value in parse_qsl(query):
        if key == "page":
            return int(value) if value.isdigit() else None
    return None


def normalise(href: str, base_url: str) -> str | None:
    """Absolute URL without fragment and without any query except ``page`` (page 1 is the bare URL),
    so the same page reached through different links is one URL; None for non-HTTP links."""
    absolute = urljoin(base_url, href.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    page = _page_number(parts.query)
    query = urlencode({"page": page}) if page and page > 1 else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def select_links(hrefs: Iterable[str], page_url: str, base_url: str | None = None) -> list[str]:
    """Keep odai pages, boke pages and the pagination of the page itself (same path, ?page=N).

    ``base_url`` resolves relative links (defaults to ``page_url``). Order of first appearance,
    no duplicates, the page itself excluded.
    """
    base = base_url or page_url
    # A saved file's page URL is a file: URI; then the base stands for the page itself.
    own = normalise(page_url, base) or normalise(base, base)
    own_path = urlsplit(own).path.rstrip("/") if own else None
    kept: dict[str, None] = {}
    for href in hrefs:
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = normalise(href, base)
        if url is None or url == own:
            continue
        parts = urlsplit(url)
        is_item = bool(_ITEM_PATH.match(parts.path))
        is_pagination = bool(parts.query) and parts.path.rstrip("/") == own_path
        if is_item or is_pagination:
            kept.setdefault(url, None)
    return list(kept)


def anchor_hrefs(soup: BeautifulSoup) -> list[str]:
    return [a["href"] for a in soup.find_all("a", href=True)]
