"""HTML helpers shared by the bokete layout adapters: text, numbers, dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

from bs4 import Tag

# bokete is a Japanese site and shows times in JST without saying so.
JST = timezone(timedelta(hours=9))

_ASCII_SPACE = " \t\r\n\f"
_NUMBER = re.compile(r"\d[\d,]*")
_DATE = re.compile(
    r"(?P<y>\d{4})[-/年.](?P<m>\d{1,2})[-/月.](?P<d>\d{1,2})日?"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)


def element_text(element: Tag) -> str:
    """Visible text with <br> as a newline; only ASCII whitespace is trimmed at the ends because
    full-width spaces inside a boke are part of the joke's layout."""
    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append("\n")
        elif type(node).__name__ == "NavigableString":
            parts.append(str(node))
    lines = "".join(parts).split("\n")
    return "\n".join(line.strip(_ASCII_SPACE) for line in lines).strip(_ASCII_SPACE)


def parse_count(text: str) -> int | None:
    """First integer in ``text``, accepting thousands separators and full-width digits ("1,234")."""
    match = _NUMBER.search(unicodedata.normalize("NFKC", text))
    return int(match.group(0).replace(",", "")) if match else None


def parse_date(text: str) -> str | None:
    """ISO 8601 for an absolute date/time in ``text`` (JST when no zone is given), else None.

    Relative times ("5時間くらい前") are not dates: they depend on when the page was saved.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        if len(text) <= 10:
            return parsed.date().isoformat()
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=JST)).isoformat()
    match = _DATE.search(text)
    if not match:
        return None
    y, m, d = int(match["y"]), int(match["m"]), int(match["d"])
    try:
        if match["H"] is None:
            return datetime(y, m, d).date().isoformat()
        stamp = datetime(y, m, d, int(match["H"]), int(match["M"]), int(match["S"] or 0), tzinfo=JST)
    except ValueError:
        return None
    return stamp.isoformat()
