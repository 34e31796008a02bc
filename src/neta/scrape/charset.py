"""The one way neta turns an HTML body into text: BOM, then the HTTP charset, then <meta>, then UTF-8.

w3lib does the work, the way browsers do: it maps labels the WHATWG way, so "Shift_JIS" is read as
Windows-31J (cp932), which has characters such as ① and ～ that Python's strict ``shift_jis`` codec
rejects, and "iso-8859-1" as windows-1252. Undecodable bytes become U+FFFD rather than failing the page.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from w3lib.encoding import html_to_unicode


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Text of an HTML body served with the ``Content-Type`` header ``content_type`` (None: none)."""
    _encoding, text = html_to_unicode(content_type, body)
    return text


def make_soup(html: bytes | str) -> BeautifulSoup:
    """Parse with lxml; bytes are decoded by the page's own declaration (BOM, <meta>), see decode_html.

    Decoding here rather than in lxml keeps the codec choice ours: libxml2 would use its own
    Shift_JIS table, which differs from browsers on characters such as ～.
    """
    return BeautifulSoup(html if isinstance(html, str) else decode_html(html), "lxml")
