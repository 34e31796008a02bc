"""convert_etl: the documented HDF5, a writer-disjoint split, area-averaged images, no file on failure."""

from __future__ import annotations

import numpy as np
import pytest

from neta.errors import NetaError
from neta.etl.convert import area_weights, convert_etl, preprocess, split_by_writer
from neta.etl.formats import get_format
from neta.etl.jis import HIRAGANA_71, HIRAGANA_75, char_to_jis0208
from neta.etl.writer import build_records, write_etl_file
from neta.h5io import read_h5


def write_dir(directory, fmt_name, writers_per_file, n_files, chars, seed=0):
    """Tiny format-exact files: every writer writes every char in `chars` once."""
    fmt = get_format(fmt_name)
    rng = np.random.default_rng(seed)
    codes = np.array([char_to_jis0208(c) for c in chars], dtype=np.uint16)
    directory.mkdir(parents=True, exist_ok=True)
    names = {"ETL8G": "ETL8G_{:02d}", "ETL8B2": "ETL8B2C{}"}
    writer = 1
    for f in range(n_files):
        ids = np.arange(writer, writer + writers_per_file)
        writer += writers_per_file
        n = len(ids) * len(codes)
        images = rng.integers(0, fmt.max_value + 1, (n, fmt.height, fmt.width), dtype=np.uint8)
        records = build_records(fmt, np.tile(codes, len(ids)), np.repeat(ids, len(codes)), images)
        write_etl_file(directory / names[fmt_name].format(f + 1), fmt, records)
    return directory


@pytest.fixture(scope="module")
def etl8g_dir(tmp_path_factory):
    chars = list(HIRAGANA_75) + ["亜", "愛"]
    return write_dir(tmp_path_factory.mktemp("etl") / "ETL8G", "ETL8G", 5, 2, chars)


def test_convert_writes_the_documented_hdf5(etl8g_dir, tmp_path):
    out = tmp_path / "etl_28.h5"
    summary = convert_etl(etl8g_dir, "ETL8G", out, test_fraction=0.2, seed=3)
    data, attrs = read_h5(out)

    n = 10 * 71
    assert summary["records"] == n and summary["train"] + summary["test"] == n
    assert data["images"].shape == (n, 28, 28) and data["images"].dtype == np.uint8
    assert data["labels"].dtype == np.int16 and data["writers"].dtype == np.int32
    assert data["split"].dtype == np.uint8 and data["codes"].dtype == np.uint16
    assert list(data["classes"]) == list(HIRAGANA_71)
    # labels index /classes and agree with the stored codes
    chars = data["classes"][data["labels"]]
    assert [char_to_jis0208(c) for c in chars] == list(data["codes"])
    assert set(np.unique(data["labels"])) == set(range(71))

    train_w = set(data["writers"][data["split"] == 0])
    test_w = set(data["writers"][data["split"] == 1])
    assert train_w and test_w and not (train_w & test_w)
    assert (attrs["n_writers_train"], attrs["n_writers_test"]) == (8, 2) == (len(train_w), len(test_w))
    assert attrs["format"] == "ETL8G" and attrs["size"] == 28 and attrs["stage"] == "convert_etl"
    assert "ETL8G_01" in attrs["inputs_json"] and '"seed":3' in attrs["params_json"]


def test_convert_75_classes_and_other_size(etl8g_dir, tmp_path):
    out = tmp_path / "etl_32.h5"
    convert_etl(etl8g_dir, "ETL8G", out, size=32, classes=75)
    data, _ = read_h5(out, ["images", "classes"])
    assert data["images"].shape == (10 * 75, 32, 32) and len(data["classes"]) == 75


def test_split_is_by_writer_and_deterministic():
    writers = np.repeat(np.arange(1, 21), 7)
    split_a, test_a = split_by_writer(writers, 0.25, seed=1)
    split_b, test_b = split_by_writer(writers, 0.25, seed=1)
    np.testing.assert_array_equal(split_a, split_b)
    assert len(test_a) == 5
    for w in np.unique(writers):
        assert len(set(split_a[writers == w])) == 1
    _, test_c = split_by_writer(writers, 0.25, seed=2)
    assert set(test_c) != set(test_a)
    with pytest.raises(NetaError, match="at least 2 writers"):
        split_by_writer(np.ones(5, int), 0.2, 0)
    with pytest.raises(NetaError, match="test_fraction"):
        split_by_writer(writers, 1.0, 0)


def test_preprocess_is_area_averaging_with_ink_high():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 16, (5, 127, 128), dtype=np.uint8)
    out = preprocess(raw, bits=4, size=28)
    for img, small in zip(raw[:2], out[:2]):
        # exact area average: blow each pixel up 28 x 28, then average 127 x 128 blocks
        big = np.repeat(np.repeat(img.astype(float) * 17.0, 28, axis=0), 28, axis=1)
        ref = big.reshape(28, 127, 28, 128).mean(axis=(1, 3))
        assert np.abs(small - ref).max() <= 0.5 + 1e-3
    full = preprocess(np.full((1, 63, 64), 1, np.uint8), bits=1, size=28)
    assert (full == 255).all()
    assert np.allclose(area_weights(127, 28).sum(axis=1), 1.0)


def test_convert_reads_1bit_b_type(tmp_path):
    src = write_dir(tmp_path / "B", "ETL8B2", 2, 2, list(HIRAGANA_71[:5]))
    out = tmp_path / "b.h5"
    summary = convert_etl(src, "ETL8B2", out, test_fraction=0.5)
    assert summary["records"] == 20 and summary["empty_classes"] == list(HIRAGANA_71[5:])
    assert read_h5(out, ["images"])[0]["images"].max() > 0


def test_failing_convert_leaves_no_output(etl8g_dir, tmp_path):
    out = tmp_path / "etl_28.h5"
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in etl8g_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    truncated = bad / "ETL8G_02"
    truncated.write_bytes(truncated.read_bytes()[:-5])
    with pytest.raises(NetaError, match="ETL8G_02"):
        convert_etl(bad, "ETL8G", out)
    with pytest.raises(NetaError, match="ETL42"):
        convert_etl(etl8g_dir, "ETL42", out)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NetaError, match="no ETL8G files"):
        convert_etl(empty, "ETL8G", out)
    with pytest.raises(NetaError, match="at least 2 writers"):
        convert_etl(write_dir(tmp_path / "one", "ETL8G", 1, 1, ["あ"]), "ETL8G", out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".etl_28.h5")]


def test_preprocess_equals_the_weight_matrix_form():
    raw = np.random.default_rng(1).integers(0, 16, (3, 127, 128), dtype=np.uint8)
    ref = area_weights(127, 20) @ (raw.astype(np.float32) * 17.0) @ area_weights(128, 20).T
    assert np.abs(preprocess(raw, bits=4, size=20) - ref).max() <= 0.5 + 1e-3
