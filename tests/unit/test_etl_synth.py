"""Synthetic ETL8G files: format-exact, the ETL8 sheet, distinct writers, deterministic."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neta.errors import NetaError
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import HIRAGANA_75, char_to_jis0208
from neta.hiragana.etl.reader import read_etl_dir, read_etl_file
from neta.hiragana.etl.synth import synth_etl
from neta.hiragana.etl.synth.glyphs import parse_path
from neta.hiragana.etl.synth.sheet import sheet_codes
from neta.hiragana.etl.writer import write_etl_file


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    paths = synth_etl(out, fmt="ETL8G", writers=3, seed=5, writers_per_file=2)
    return out, paths


def test_files_are_format_exact_etl8g(synth_dir):
    out, paths = synth_dir
    assert [p.name for p in paths] == ["ETL8G_01", "ETL8G_02"]
    assert [p.stat().st_size for p in paths] == [2 * 956 * 8199, 956 * 8199]
    fmt = get_format("ETL8G")
    first = read_etl_file(paths[0], fmt)
    assert list(np.unique(first.writers)) == [1, 2]
    np.testing.assert_array_equal(first.codes[:956], sheet_codes())
    np.testing.assert_array_equal(first.codes[956:], sheet_codes())
    assert first.images.max() <= 15 and first.images.dtype == np.uint8
    assert first.meta["reading"][0] == b"A.HIRA" and first.meta["serial"][0] == 1
    assert first.meta["serial"][-1] == 2 * 956


def test_synth_file_round_trips_byte_exactly(synth_dir, tmp_path):
    _, paths = synth_dir
    fmt = get_format("ETL8G")
    copy = write_etl_file(tmp_path / "ETL8G_01", fmt, read_etl_file(paths[0], fmt))
    assert copy.read_bytes() == paths[0].read_bytes()


def test_sheet_has_75_hiragana_and_881_kanji_in_jis_order():
    codes = sheet_codes()
    assert codes.size == 956 and len(set(codes)) == 956 and (np.diff(codes.astype(int)) > 0).all()
    hira = {char_to_jis0208(c) for c in HIRAGANA_75}
    assert hira <= set(codes)
    kanji = [c for c in codes if c not in hira]
    assert len(kanji) == 881 and min(kanji) >= 0x3021 and max(kanji) <= 0x4F43


def test_hiragana_are_inked_and_writers_differ(synth_dir):
    out, _ = synth_dir
    records = read_etl_dir(out, get_format("ETL8G"), list(HIRAGANA_75))
    assert len(records) == 3 * 75
    # level 3, not 8: a pencil writer's strokes are light (levels ~5..9)
    ink = (records.images >= 3).mean(axis=(1, 2))
    assert (ink > 0.01).all() and (ink < 0.5).all()
    by_writer = [records.images[records.writers == w].astype(float) for w in (1, 2, 3)]
    # the same character by two writers differs, yet less than two different characters do
    same_char = np.abs(by_writer[0] - by_writer[1]).mean()
    assert same_char > 0.2
    widths = [(w >= 3).mean() for w in by_writer]
    assert len({round(x, 3) for x in widths}) == 3


def test_synth_is_deterministic_in_seed(tmp_path, synth_dir):
    _, paths = synth_dir
    again = synth_etl(tmp_path / "a", fmt="ETL8G", writers=1, seed=5, writers_per_file=1)
    assert again[0].read_bytes()[: 956 * 8199] == paths[0].read_bytes()[: 956 * 8199]
    other = synth_etl(tmp_path / "b", fmt="ETL8G", writers=1, seed=6, writers_per_file=1)
    assert other[0].read_bytes() != again[0].read_bytes()


def test_synth_rejects_other_formats_and_removes_stale_files(tmp_path):
    with pytest.raises(NetaError, match="ETL8G only"):
        synth_etl(tmp_path, fmt="ETL9B", writers=1, seed=0)
    (tmp_path / "ETL8G_07").write_bytes(b"old")
    synth_etl(tmp_path, fmt="ETL8G", writers=1, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ETL8G_01", "SYNTH_WRITERS.csv"]


def test_svg_path_parser_handles_relative_and_smooth_curves():
    segments = parse_path("M10,20c1,0,2,0,3,0s5,0,6,0L20,20")
    assert segments.shape == (3, 4, 2)
    np.testing.assert_allclose(segments[0], [[10, 20], [11, 20], [12, 20], [13, 20]])
    np.testing.assert_allclose(segments[1], [[13, 20], [14, 20], [18, 20], [19, 20]])
    np.testing.assert_allclose(segments[2, 3], [20, 20])


def test_font_fallback_without_kanjivg(tmp_path, monkeypatch):
    import neta.hiragana.etl.synth.write as write  # synth_etl looks kanjivg_dir up there

    monkeypatch.setattr(write, "kanjivg_dir", lambda: None)
    paths = write.synth_etl(tmp_path, fmt="ETL8G", writers=1, seed=1)
    records = read_etl_file(paths[0], get_format("ETL8G"))
    hira = records.images[np.isin(records.chars, list(HIRAGANA_75))]
    ink = (hira >= 8).mean(axis=(1, 2))
    assert hira.shape[0] == 75 and (ink > 0.01).all() and (ink < 0.5).all()


def test_writer_and_synth_do_not_import_the_reader():
    """With import-graph code inputs, editing the reader must not rerun the synthetic ETL files."""
    script = (
        "import sys\n"
        "import neta.hiragana.etl.synth, neta.hiragana.etl.writer\n"
        "from neta.hiragana.etl.formats import EtlRecords\n"
        "assert 'neta.hiragana.etl.reader' not in sys.modules, sorted(m for m in sys.modules if m.startswith('neta'))\n"
        "import neta.hiragana.etl.reader\n"
        "assert neta.hiragana.etl.reader.EtlRecords is EtlRecords\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# --- writer style families and the held-out-style protocol --------------------------------------


def test_writer_family_is_deterministic_balanced_and_keeps_to_its_families():
    from neta.hiragana.etl.synth import FAMILIES, training_families, writer_family

    train = training_families(["brush", "pencil"])
    assert set(train) == set(FAMILIES) - {"brush", "pencil"}
    picks = [writer_family(3, i, train) for i in range(40)]
    assert picks == [writer_family(3, i, train) for i in range(40)]
    assert {f: picks.count(f) for f in train} == {f: 10 for f in train}  # every family its share
    assert [writer_family(4, i, train) for i in range(40)] != picks or len(train) == 1
    with pytest.raises(NetaError, match="heldout_families"):
        training_families(list(FAMILIES))
    with pytest.raises(NetaError, match="crayon"):
        training_families(["crayon"])


def test_heldout_families_never_appear_among_training_writers(tmp_path):
    from neta.hiragana.etl.synth import HELDOUT_WRITER_BASE, read_writer_families, training_families

    train_dir, held_dir = tmp_path / "train", tmp_path / "held"
    synth_etl(train_dir, fmt="ETL8G", writers=4, seed=2, families=training_families(["brush"]),
              writers_per_file=4)
    synth_etl(held_dir, fmt="ETL8G", writers=2, seed=2, families=["brush"], first_writer=HELDOUT_WRITER_BASE,
              writers_per_file=2)
    train, held = read_writer_families(train_dir), read_writer_families(held_dir)
    assert sorted(train) == [1, 2, 3, 4] and "brush" not in train.values() and len(set(train.values())) == 4
    assert set(held.values()) == {"brush"} and min(held) > HELDOUT_WRITER_BASE
    records = read_etl_dir(held_dir, get_format("ETL8G"), list(HIRAGANA_75))
    assert set(np.unique(records.writers)) == set(held)  # the table names the files' writers
    assert read_writer_families(tmp_path) == {}  # real ETL files have no table


def _draw(char: str, family: str, writer: int, samples: int = 1) -> np.ndarray:
    from neta.hiragana.etl.synth.draw import draw_strokes
    from neta.hiragana.etl.synth.glyphs import kanjivg_dir, load_strokes, split_marks
    from neta.hiragana.etl.synth.styles import writer_style

    glyph = split_marks(char, load_strokes(kanjivg_dir(), char))
    rng = np.random.default_rng([writer, 11])
    style = writer_style(rng, family)
    return np.stack([draw_strokes(glyph, style, rng) for _ in range(samples)])


def test_families_draw_distinct_pens():
    from neta.hiragana.etl.synth.glyphs import kanjivg_dir

    if kanjivg_dir() is None:
        pytest.skip("kanjivg not installed")
    ink = {f: np.mean([(_draw("あ", f, w) > 0.5).mean() for w in range(4)]) for f in ("marker", "pencil")}
    assert ink["marker"] > 2 * ink["pencil"]  # a felt marker lays down far more ink than a pencil
    brush = _draw("し", "brush", 0)[0]
    assert 0.0 < brush.max() <= 1.0


def test_marks_are_taken_apart_and_drawn_with_variation():
    from neta.hiragana.etl.synth.draw import glyph_lines
    from neta.hiragana.etl.synth.glyphs import kanjivg_dir, load_strokes, split_marks
    from neta.hiragana.etl.synth.styles import writer_style

    if kanjivg_dir() is None:
        pytest.skip("kanjivg not installed")
    folder = kanjivg_dir()
    ba, pa, a = (split_marks(c, load_strokes(folder, c)) for c in "ばぱあ")
    assert (ba.mark, len(ba.body)) == ("dakuten", 3) and (pa.mark, len(pa.body)) == ("handakuten", 3)
    assert a.mark is None
    # two writers put their marks differently; one writer's samples differ too
    rngs = [np.random.default_rng([w, 5]) for w in range(2)]
    styles = [writer_style(r, "ballpoint") for r in rngs]
    assert styles[0].tick_len != styles[1].tick_len and styles[0].ring_radius != styles[1].ring_radius
    ticks = [glyph_lines(ba, styles[0], rngs[0])[-2:] for _ in range(2)]
    assert all(len(t.points) == 6 for t in ticks[0])
    assert not np.allclose(ticks[0][0].points, ticks[1][0].points)
    rings = [glyph_lines(pa, styles[0], rngs[0])[-1].points for _ in range(2)]
    sizes = [np.ptp(r, axis=0) for r in rings]
    assert not np.allclose(sizes[0], sizes[1])
