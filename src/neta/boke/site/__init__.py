"""bokete page parsers: detect the layout of a page and turn it into boke records.

Layouts, newest first (the order detection tries them in):
``nextjs`` (JSON in ``__NEXT_DATA__``), ``classic2016`` (``#content > div.boke``),
``xhtml2013`` (``div.boke-entry#boke-entry-<id>``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bs4 import BeautifulSoup

from neta.boke.site import classic2016, nextjs, xhtml2013
from neta.boke.site.records import BOKE_COLUMNS, Boke
from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage
from neta.scrape.charset import make_soup
from neta.scrape.saved_page import parse_saved_page, records_to_json_lines

log = logging.getLogger(__name__)

LAYOUTS = ("nextjs", "classic2016", "xhtml2013")
_ADAPTERS = {"nextjs": nextjs, "classic2016": classic2016, "xhtml2013": xhtml2013}
# Where links in a saved page point when the caller does not say where the page came from.
DEFAULT_BASE_URL = "https://bokete.jp/"


def detect_layout(soup: BeautifulSoup) -> str | None:
    for name in LAYOUTS:
        if _ADAPTERS[name].matches(soup):
            return name
    return None


def parse_bokete(html: bytes | str, url: str, *, base_url: str | None = None) -> ParsedPage[Boke]:
    """Parse one bokete page in any known layout.

    ``url`` is recorded as each boke's ``source_url`` and resolves relative links and protocol-relative
    image URLs, unless ``base_url`` is given for that. Bytes are decoded by the page's own declaration
    (neta.scrape.charset).
    A page in no known layout raises NetaError naming ``url``.
    """
    soup = make_soup(html)
    layout = detect_layout(soup)
    if layout is None:
        title = soup.title.get_text(" ", strip=True)[:80] if soup.title else "no <title>"
        raise NetaError(
            f"{url}: not a bokete page in any known layout ({', '.join(LAYOUTS)}); page title: {title!r}. "
            "Check that the URL is a bokete list, odai or boke page (an error or login page is not)"
        )
    page = _ADAPTERS[layout].parse(soup, url, base_url or url)
    log.debug("%s: %s layout, %d bokes, %d links", url, layout, len(page.items), len(page.links))
    return page


def parse_bokete_file(path: str | Path, url: str | None = None) -> ParsedPage[Boke]:
    """Parse a saved page. Without ``url`` the records name the file, and relative links resolve
    against the page's canonical URL when it states one, else against https://bokete.jp/."""
    return parse_saved_page(path, url, parse_bokete, default_base_url=DEFAULT_BASE_URL, what="bokes")


def bokes_to_json_lines(page: ParsedPage[Boke]) -> str:
    """One JSON object a boke (keys in BOKE_COLUMNS order, UTF-8 text unescaped), newline-terminated."""
    return records_to_json_lines(page.items, BOKE_COLUMNS)


__all__ = ["LAYOUTS", "detect_layout", "parse_bokete", "parse_bokete_file", "bokes_to_json_lines"]
