"""The character sheet one synthetic writer fills: 75 hiragana and 881 stand-in kanji in JIS order."""

from __future__ import annotations

import unicodedata

import numpy as np

from neta.errors import NetaError
from neta.hiragana.etl.jis import HIRAGANA_75, char_to_jis0208, decode_codes

N_KANJI = 881
KANJI_CODE_RANGE = (0x3021, 0x4F43)
CHARS_PER_WRITER = 956


def etl8_kanji_codes() -> np.ndarray:
    """881 JIS level-1 kanji codes, evenly spaced in code order (a documented stand-in)."""
    lo, hi = KANJI_CODE_RANGE
    candidates = np.array(
        [(r << 8) | c for r in range(lo >> 8, (hi >> 8) + 1) for c in range(0x21, 0x7F) if lo <= ((r << 8) | c) <= hi]
    )
    try:
        decode_codes(candidates, "jis0208")
        valid = candidates
    except NetaError:
        # Row 0x4F ends at 0x4F53; every code up to 0x4F43 is assigned, but stay safe if not.
        valid = np.array([c for c in candidates if _decodes(c)])
    pick = np.round(np.linspace(0, len(valid) - 1, N_KANJI)).astype(int)
    return valid[pick].astype(np.uint16)


def _decodes(code: int) -> bool:
    try:
        decode_codes(np.array([code]), "jis0208")
        return True
    except NetaError:
        return False


def sheet_codes() -> np.ndarray:
    """The 956 codes one writer fills, in sheet order (ascending JIS code)."""
    hira = np.array([char_to_jis0208(c) for c in HIRAGANA_75], dtype=np.uint16)
    codes = np.sort(np.concatenate([hira, etl8_kanji_codes()]))
    assert codes.size == CHARS_PER_WRITER
    return codes


def reading_of(char: str) -> bytes:
    """The ETL8 'typical reading' field: "KA.HIRA" for か, "XTU.HIRA" for small っ, "KANJI" otherwise."""
    name = unicodedata.name(char, "")
    if name.startswith("HIRAGANA LETTER "):
        sound = name[len("HIRAGANA LETTER ") :]
        sound = "X" + sound[len("SMALL ") :] if sound.startswith("SMALL ") else sound
        return f"{sound}.HIRA".encode("ascii")[:8]
    return b"KANJI"
