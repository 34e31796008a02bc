"""JIS decoding and the hiragana class sets."""

from __future__ import annotations

import numpy as np
import pytest

from neta.errors import NetaError
from neta.hiragana.etl.jis import HIRAGANA_71, HIRAGANA_75, char_to_jis0208, decode_codes, hiragana_classes


def test_jis0208_decodes_a_and_wo():
    assert list(decode_codes(np.array([0x2422, 0x2472, 0x2473, 0x3021]), "jis0208")) == ["あ", "を", "ん", "亜"]
    assert char_to_jis0208("を") == 0x2472 and char_to_jis0208("あ") == 0x2422


def test_jis0201_decodes_katakana_or_etl7_hiragana():
    codes = np.array([0xB1, 0xA6, 0xDD, 0x30])
    assert list(decode_codes(codes, "jis0201")) == ["ア", "ヲ", "ン", "0"]
    assert list(decode_codes(codes, "jis0201_hiragana")) == ["あ", "を", "ん", "0"]


def test_undecodable_code_names_source_and_record():
    with pytest.raises(NetaError) as err:
        decode_codes(np.array([0x2422, 0x2422, 0x2474]), "jis0208", source="ETL8G_07", first_record=10)
    assert "ETL8G_07" in str(err.value) and "record 12" in str(err.value) and "0x2474" in str(err.value)
    with pytest.raises(NetaError, match="record 0"):
        decode_codes(np.array([0x80]), "jis0201", source="x")


def test_71_classes_exact_membership():
    basic = set("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん")
    voiced = set("がぎぐげござじずぜぞだぢづでどばびぶべぼ")
    semi = set("ぱぴぷぺぽ")
    assert len(basic) == 46 and len(voiced) == 20 and len(semi) == 5
    assert len(HIRAGANA_71) == 71 and set(HIRAGANA_71) == basic | voiced | semi
    assert "ゐ" not in HIRAGANA_71 and "ゑ" not in HIRAGANA_71 and "っ" not in HIRAGANA_71
    codes = [char_to_jis0208(c) for c in HIRAGANA_71]
    assert codes == sorted(codes) and codes[0] == 0x2422 and codes[-1] == 0x2473


def test_75_classes_add_four_small_kana():
    assert len(HIRAGANA_75) == 75
    assert set(HIRAGANA_75) - set(HIRAGANA_71) == set("っゃゅょ")
    assert hiragana_classes(71) == list(HIRAGANA_71) and hiragana_classes(75) == list(HIRAGANA_75)
    with pytest.raises(NetaError, match="71 or 75"):
        hiragana_classes(46)
