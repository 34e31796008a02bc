"""A page saved to a file, read by a site's parser, and its records as JSON lines (`neta parse <site>`).

The same for every site: only the parser, the site's default base URL and the record columns differ.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage
from neta.scrape.charset import make_soup

log = logging.getLogger(__name__)


def canonical_url(data: bytes | str) -> str | None:
    """The absolute URL a saved page says it came from (``<link rel=canonical>`` or ``og:url``), if any."""
    soup = make_soup(data)
    link = soup.find("link", rel="canonical", href=True)
    meta = soup.find("meta", property="og:url", content=True)
    for candidate in (link and link["href"], meta and meta["content"]):
        if candidate and candidate.startswith(("http://", "https://")):
            return candidate
    return None


def parse_saved_page(path: str | Path, url: str | None, parse: Callable[..., ParsedPage], *,
                     default_base_url: str, what: str = "items") -> ParsedPage:
    """Parse a saved page with ``parse(data, url, base_url=...)``.

    With ``url`` the page is read as if fetched from there. Without it the records name the file, and
    relative links resolve against the page's canonical URL when it states one, else against
    ``default_base_url`` (the site's root). ``what`` names the records in the log line.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NetaError(f"{path}: cannot read the page ({exc.strerror})") from exc
    started = time.perf_counter()
    if url is not None:
        page = parse(data, url)
    else:
        page = parse(data, path.resolve().as_uri(), base_url=canonical_url(data) or default_base_url)
    log.info("read %s: %s layout, %d %s in %.3f s", path, page.layout, len(page.items), what,
             time.perf_counter() - started)
    return page


def records_to_json_lines(records: Iterable, columns: Sequence[str]) -> str:
    """One JSON object a dataclass record, keys in ``columns`` order (UTF-8 text unescaped, tuples as
    lists), newline-terminated."""
    lines = []
    for record in records:
        fields = dataclasses.asdict(record)
        lines.append(json.dumps({key: fields[key] for key in columns}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
