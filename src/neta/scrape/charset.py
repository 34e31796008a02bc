"""Decode an HTML response body the way a browser does: BOM, then HTTP charset, then <meta>, then UTF-8.

Old Japanese pages are often Shift_JIS or EUC-JP. Browsers (WHATWG Encoding) read the label
"Shift_JIS" as Windows-31J (cp932), which has characters such as ① and ～ that Python's strict
``shift_jis`` codec rejects, so the labels are mapped the WHATWG way.
"""

from __future__ import annotations

import codecs
import re

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_ALIASES = {
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j",
                     "ms932", "cp932"), "cp932"),
    **dict.fromkeys(("euc-jp", "euc_jp", "x-euc-jp", "cseucpkdfmtjapanese"), "euc_jp"),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp"), "iso2022_jp"),
    # WHATWG: these legacy labels mean windows-1252
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), "cp1252"),
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
SNIFF_BYTES = 4096


def codec_for(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def detect_charset(body: bytes, content_type: str | None = None) -> str:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        codec = codec_for(match.group(1)) if match else None
        if codec:
            return codec
    match = _META_CHARSET.search(body[:SNIFF_BYTES])
    codec = codec_for(match.group(1).decode("ascii")) if match else None
    return codec or "utf-8"


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Text of an HTML body; undecodable bytes become U+FFFD rather than failing the page."""
    codec = detect_charset(body, content_type)
    text = body.decode(codec, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text
