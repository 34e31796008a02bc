"""convert_etl: the documented HDF5, a writer-disjoint split, area-averaged images, no file on failure."""

from __future__ import annotations

import numpy as np
import pytest

from neta.errors import NetaError
from neta.h5io import read_h5
from neta.hiragana.etl.convert import convert_etl, split_by_writer
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import HIRAGANA_71, HIRAGANA_75, char_to_jis0208
from neta.hiragana.etl.writer import build_records, write_etl_file
from neta.hiragana.normalise import area_weights, preprocess
from neta.settings import validate_config


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


# random levels are no handwriting: these structural tests use the seed's whole-cell resize
CONVERT = {"size": 28, "classes": 71, "test_fraction": 0.2, "seed": 0, "normalise": "cell"}


@pytest.fixture(scope="module")
def etl8g_dir(tmp_path_factory):
    chars = list(HIRAGANA_75) + ["亜", "愛"]
    return write_dir(tmp_path_factory.mktemp("etl") / "ETL8G", "ETL8G", 5, 2, chars)


def test_convert_writes_the_documented_hdf5(etl8g_dir, tmp_path):
    out = tmp_path / "etl_28.h5"
    summary = convert_etl(etl8g_dir, "ETL8G", out, **{**CONVERT, "seed": 3})
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
    convert_etl(etl8g_dir, "ETL8G", out, **{**CONVERT, "size": 32, "classes": 75})
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


# convert_etl no longer re-checks what the config schema checks: there a bad value fails, naming the key.
@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"split": {"test_fraction": 1.0}}, "hiragana.split.test_fraction: 1.0 is greater than or equal to the max"),
        ({"split": {"test_fraction": 0}}, "hiragana.split.test_fraction: 0 is less than or equal to the min"),
        ({"size": 0}, "hiragana.size: 0 is less than the minimum of 8"),
        ({"classes": 70}, "hiragana.classes: 70 is not one of [71, 75]"),
    ],
)
def test_config_validation_rejects_bad_convert_settings_naming_the_key(config, fragment):
    with pytest.raises(NetaError) as info:
        validate_config({"hiragana": config})
    assert fragment in str(info.value)


def test_preprocess_is_area_averaging_with_ink_high():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 16, (5, 127, 128), dtype=np.uint8)
    out = preprocess(raw, bits=4, size=28)
    for img, small in zip(raw[:2], out[:2], strict=True):
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
    summary = convert_etl(src, "ETL8B2", out, **{**CONVERT, "test_fraction": 0.5})
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
        convert_etl(bad, "ETL8G", out, **CONVERT)
    with pytest.raises(NetaError, match="ETL42"):
        convert_etl(etl8g_dir, "ETL42", out, **CONVERT)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NetaError, match="no ETL8G files"):
        convert_etl(empty, "ETL8G", out, **CONVERT)
    with pytest.raises(NetaError, match="at least 2 writers"):
        convert_etl(write_dir(tmp_path / "one", "ETL8G", 1, 1, ["あ"]), "ETL8G", out, **CONVERT)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".etl_28.h5")]


def test_preprocess_equals_the_weight_matrix_form():
    raw = np.random.default_rng(1).integers(0, 16, (3, 127, 128), dtype=np.uint8)
    ref = area_weights(127, 20) @ (raw.astype(np.float32) * 17.0) @ area_weights(128, 20).T
    assert np.abs(preprocess(raw, bits=4, size=20) - ref).max() <= 0.5 + 1e-3


def _damage(path, how):
    fmt = get_format("ETL8G")
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[-100:]
    else:  # a code JIS X 0208 does not have, in the last record, so every earlier record is good
        offset = len(data) - fmt.record_size + fmt.dtype.fields["code"][1]
        data[offset : offset + 2] = (0x7F7F).to_bytes(2, "big")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "bad_code"])
def test_corrupt_later_file_stops_convert_after_earlier_files_were_read(tmp_path, monkeypatch, how):
    import neta.hiragana.etl.reader as reader

    src = write_dir(tmp_path / "in", "ETL8G", 2, 3, list(HIRAGANA_71[:10]))
    _damage(src / "ETL8G_03", how)
    mapped = []
    real_map = reader.map_records

    def recording_map(path, fmt, count):
        mapped.append(path.name)
        return real_map(path, fmt, count)

    monkeypatch.setattr(reader, "map_records", recording_map)
    out = tmp_path / "etl_28.h5"
    with pytest.raises(NetaError, match="ETL8G_03") as info:
        convert_etl(src, "ETL8G", out, **CONVERT)
    assert mapped[:2] == ["ETL8G_01", "ETL8G_02"]  # the good files were read first
    assert ("truncated" if how == "truncated" else "record") in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]

    # an output of an earlier run stays as it was
    good = write_dir(tmp_path / "good", "ETL8G", 2, 2, list(HIRAGANA_71[:10]), seed=1)
    convert_etl(good, "ETL8G", out, **CONVERT)
    before = out.read_bytes()
    with pytest.raises(NetaError, match="ETL8G_03"):
        convert_etl(src, "ETL8G", out, **CONVERT)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etl_28.h5", "good", "in"]


def test_convert_failing_while_writing_the_hdf5_leaves_no_output(etl8g_dir, tmp_path, monkeypatch):
    import neta.h5io as h5io

    written = []
    real_create = h5io._create

    def create_then_fail(group, name, value):
        if len(written) == 3:
            raise OSError("No space left on device")
        written.append(name)
        return real_create(group, name, value)

    monkeypatch.setattr(h5io, "_create", create_then_fail)
    out = tmp_path / "etl_28.h5"
    with pytest.raises(NetaError, match=f"no space left on device writing {out}"):
        convert_etl(etl8g_dir, "ETL8G", out, **CONVERT)
    assert written == ["images", "labels", "writers"]
    assert list(tmp_path.iterdir()) == []
