"""Character codes of the ETL files -> Unicode, and the hiragana class sets neta trains on.

JIS X 0208 is decoded through a 94 x 94 table built from Python's ``euc_jp`` codec (EUC-JP is JIS X
0208 with both bytes ORed with 0x80), so a whole file's codes decode with one fancy index.

Class sets (chosen by code, never by the reading string):

* ``HIRAGANA_71``: the 46 basic kana あ..ん including を and ん (no ゐ/ゑ), the 20 voiced kana
  (が..ご, ざ..ぞ, だ..ど, ば..ぼ) and the 5 semi-voiced ones (ぱ..ぽ), in JIS order.
* ``HIRAGANA_75``: those 71 plus the 4 small kana of ETL8. ETL8 has 75 hiragana, so 4 small ones
  (160 writers x 4 = 640 "sutegana" records), but we found no public source naming which four.
  We take っ ゃ ゅ ょ, the small kana that ordinary Japanese text needs; with the real files,
  ``neta etl convert`` reports any class that has no records.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

from neta.errors import NetaError

_BASIC = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
_VOICED = "がぎぐげござじずぜぞだぢづでどばびぶべぼ"
_SEMI_VOICED = "ぱぴぷぺぽ"
_SMALL_ETL8 = "っゃゅょ"


def _jis_order(chars: str) -> tuple[str, ...]:
    return tuple(sorted(chars, key=lambda c: c.encode("euc_jp")))


HIRAGANA_71: tuple[str, ...] = _jis_order(_BASIC + _VOICED + _SEMI_VOICED)
HIRAGANA_75: tuple[str, ...] = _jis_order(_BASIC + _VOICED + _SEMI_VOICED + _SMALL_ETL8)
SMALL_KANA_75: tuple[str, ...] = tuple(_SMALL_ETL8)


def hiragana_classes(n: int) -> list[str]:
    """The hiragana class list (JIS order) for ``n`` = 71 or 75 classes."""
    if n == 71:
        return list(HIRAGANA_71)
    if n == 75:
        return list(HIRAGANA_75)
    raise NetaError(f"hiragana classes must be 71 or 75, got {n!r} (set hiragana.classes to 71 or 75)")


@functools.cache
def jis0208_table() -> np.ndarray:
    """(94, 94) array of one-character strings; '' where JIS X 0208 has no character."""
    table = np.full((94, 94), "", dtype="<U1")
    for row in range(94):
        for cell in range(94):
            try:
                table[row, cell] = bytes((0xA1 + row, 0xA1 + cell)).decode("euc_jp")
            except UnicodeDecodeError:
                pass
    table.setflags(write=False)
    return table


@functools.cache
def jis0201_table(as_hiragana: bool = False) -> np.ndarray:
    """(256,) array of one-character strings for JIS X 0201 (Roman half + half-width katakana).

    With ``as_hiragana`` the katakana codes become the hiragana of the same sound (ETL7's usage).
    """
    table = np.full(256, "", dtype="<U1")
    for code in range(0x20, 0x7F):
        # JIS X 0201 Roman differs from ASCII only at 0x5C (yen) and 0x7E (overline).
        table[code] = {0x5C: "¥", 0x7E: "‾"}.get(code, chr(code))
    for code in range(0xA1, 0xE0):
        full = unicodedata.normalize("NFKC", bytes((0x8E, code)).decode("euc_jp"))
        if as_hiragana and "ァ" <= full <= "ヶ":
            full = chr(ord(full) - 0x60)
        table[code] = full
    table.setflags(write=False)
    return table


def char_to_jis0208(char: str) -> int:
    try:
        raw = char.encode("euc_jp")
    except UnicodeEncodeError as exc:
        raise NetaError(f"{char!r} has no JIS X 0208 code") from exc
    if len(raw) != 2 or raw[0] < 0xA1:
        raise NetaError(f"{char!r} has no JIS X 0208 code")
    return ((raw[0] & 0x7F) << 8) | (raw[1] & 0x7F)


def decode_codes(codes: np.ndarray, code_kind: str, *, source: str = "<array>", first_record: int = 0) -> np.ndarray:
    """Unicode characters for an array of ETL codes; NetaError on the first code with no character.

    ``source`` and ``first_record`` (the file's record index of ``codes[0]``) name the culprit.
    """
    codes = np.asarray(codes).astype(np.int64)
    if code_kind == "jis0208":
        row, cell = (codes >> 8) - 0x21, (codes & 0xFF) - 0x21
        inside = (row >= 0) & (row < 94) & (cell >= 0) & (cell < 94)
        chars = np.full(codes.shape, "", dtype="<U1")
        chars[inside] = jis0208_table()[row[inside], cell[inside]]
        name = "JIS X 0208"
    elif code_kind in ("jis0201", "jis0201_hiragana"):
        inside = (codes >= 0) & (codes < 256)
        chars = np.full(codes.shape, "", dtype="<U1")
        chars[inside] = jis0201_table(code_kind == "jis0201_hiragana")[codes[inside]]
        name = "JIS X 0201"
    else:
        raise ValueError(f"unknown code kind {code_kind!r}")
    bad = np.flatnonzero(chars == "")
    if bad.size:
        i = int(bad[0])
        raise NetaError(
            f"{source}: record {first_record + i} has code 0x{int(codes[i]):04X}, which is no {name} character "
            f"({bad.size} such record(s)); the file is corrupt or not in this ETL format"
        )
    return chars
