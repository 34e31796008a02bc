"""ETL record layouts, byte-exact round trips for every format, and bad-input errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from neta.errors import NetaError
from neta.hiragana.etl.formats import get_format, known_formats
from neta.hiragana.etl.jis import HIRAGANA_71, char_to_jis0208
from neta.hiragana.etl.reader import list_etl_files, read_etl_dir, read_etl_file
from neta.hiragana.etl.writer import build_records, encode_records, write_etl_file

FILE_NAMES = {
    "ETL8G": "ETL8G_01",
    "ETL9G": "ETL9G_01",
    "ETL8B2": "ETL8B2C1",
    "ETL9B": "ETL9B_1",
    "ETL1": "ETL1C_01",
    "ETL6": "ETL6C_01",
    "ETL7": "ETL7LC_1",
}


def sample_codes(fmt, n):
    if fmt.code_kind == "jis0208":
        return np.array([char_to_jis0208(c) for c in HIRAGANA_71[:n]], dtype=np.uint16)
    return np.arange(0xB1, 0xB1 + n, dtype=np.uint16)  # half-width ｱｲｳ..., hiragana in ETL7


def random_file_bytes(fmt, n, rng) -> bytes:
    """A file of `n` records whose every byte is random except the code field, which stays valid."""
    total = n + int(fmt.dummy_first_record)
    raw = np.frombuffer(rng.integers(0, 256, total * fmt.record_size, dtype=np.uint8).tobytes(), dtype=fmt.dtype).copy()
    raw["code"][int(fmt.dummy_first_record) :] = sample_codes(fmt, n)
    return raw.tobytes()


@pytest.mark.parametrize("name", known_formats())
def test_write_read_round_trip_keeps_pixels_codes_writers(tmp_path, name):
    fmt = get_format(name)
    rng = np.random.default_rng(1)
    n = 9
    codes = sample_codes(fmt, n)
    writers = rng.integers(1, 400, n)
    images = rng.integers(0, fmt.max_value + 1, (n, fmt.height, fmt.width), dtype=np.uint8)
    path = write_etl_file(tmp_path / FILE_NAMES[name], fmt, build_records(fmt, codes, writers, images))

    assert path.stat().st_size == (n + int(fmt.dummy_first_record)) * fmt.record_size
    back = read_etl_file(path, fmt)
    np.testing.assert_array_equal(back.images, images)
    np.testing.assert_array_equal(back.codes, codes)
    np.testing.assert_array_equal(back.writers, writers)
    assert back.images.shape == (n, fmt.height, fmt.width)


@pytest.mark.parametrize("name", known_formats())
def test_read_then_write_gives_the_same_bytes(tmp_path, name):
    fmt = get_format(name)
    original = random_file_bytes(fmt, 6, np.random.default_rng(2))
    src = tmp_path / "in" / FILE_NAMES[name]
    src.parent.mkdir()
    src.write_bytes(original)

    records = read_etl_file(src, fmt)
    out = write_etl_file(tmp_path / FILE_NAMES[name], fmt, records)
    assert out.read_bytes() == original


@pytest.mark.parametrize("name", known_formats())
def test_layout_agrees_with_struct(name):
    """Fields decoded through the numpy dtype equal those of the struct layout AIST's sheets give."""
    fmt = get_format(name)
    data = random_file_bytes(fmt, 1, np.random.default_rng(3))
    record = data[int(fmt.dummy_first_record) * fmt.record_size :]
    fields = struct.unpack(fmt.struct_format, record)
    parsed = np.frombuffer(record, dtype=fmt.dtype)[0]
    if fmt.code_kind == "jis0208":
        assert (fields[0], fields[1]) == (parsed["sheet"], parsed["code"])
    else:  # M type: data number, char code, sheet number, JIS X 0201 code, ...
        assert (fields[2], fields[3]) == (parsed["sheet"], parsed["code"])
    assert fields[-1] == parsed["image"].tobytes()


def test_image_offsets_and_sizes():
    expect = {"ETL8G": (8199, 60, 4), "ETL9G": (8199, 64, 4), "ETL8B2": (512, 8, 1), "ETL9B": (576, 8, 1)}
    for name, (size, offset, bits) in expect.items():
        fmt = get_format(name)
        assert (fmt.record_size, fmt.image_offset, fmt.bits) == (size, offset, bits)
    for name in ("ETL1", "ETL6", "ETL7"):
        fmt = get_format(name)
        assert (fmt.record_size, fmt.image_offset, fmt.width, fmt.height) == (2052, 32, 64, 63)
        assert fmt.code_kind.startswith("jis0201")
    assert get_format("ETL8B2").dummy_first_record and get_format("ETL9B").dummy_first_record
    assert not get_format("ETL8G").dummy_first_record


def test_four_bit_pixels_unpack_high_nibble_first(tmp_path):
    fmt = get_format("ETL8G")
    data = bytearray(random_file_bytes(fmt, 1, np.random.default_rng(4)))
    data[fmt.image_offset] = 0xA3
    path = tmp_path / "ETL8G_01"
    path.write_bytes(bytes(data))
    image = read_etl_file(path, fmt).images[0]
    assert (image[0, 0], image[0, 1]) == (0xA, 0x3)


def test_etl7_codes_read_as_hiragana(tmp_path):
    fmt = get_format("ETL7")
    path = tmp_path / "ETL7LC_1"
    path.write_bytes(random_file_bytes(fmt, 3, np.random.default_rng(5)))
    assert list(read_etl_file(path, fmt).chars) == ["あ", "い", "う"]
    etl1 = get_format("ETL1")
    path1 = tmp_path / "ETL1C_01"
    path1.write_bytes(random_file_bytes(etl1, 3, np.random.default_rng(5)))
    assert list(read_etl_file(path1, etl1).chars) == ["ア", "イ", "ウ"]


def test_unknown_format_names_it_and_the_known_ones():
    with pytest.raises(NetaError) as err:
        get_format("ETL99")
    assert "ETL99" in str(err.value) and "ETL8G" in str(err.value) and "ETL9B" in str(err.value)


def test_truncated_file_error_names_file_size_and_record_length(tmp_path):
    fmt = get_format("ETL8G")
    path = tmp_path / "ETL8G_01"
    path.write_bytes(random_file_bytes(fmt, 2, np.random.default_rng(6))[:-100])
    with pytest.raises(NetaError) as err:
        read_etl_file(path, fmt)
    message = str(err.value)
    assert str(path) in message and str(2 * 8199 - 100) in message and "8199" in message
    with pytest.raises(NetaError, match="ETL8G_01"):
        read_etl_dir(tmp_path, fmt, None)


def test_unknown_code_error_names_file_and_record_index(tmp_path):
    fmt = get_format("ETL8B2")
    raw = np.frombuffer(random_file_bytes(fmt, 5, np.random.default_rng(7)), dtype=fmt.dtype).copy()
    raw["code"][3] = 0x7F7F  # outside JIS X 0208; record 3 of the file (record 0 is the dummy)
    path = tmp_path / "ETL8B2C1"
    path.write_bytes(raw.tobytes())
    for read in (lambda: read_etl_file(path, fmt), lambda: read_etl_dir(tmp_path, fmt, ["あ"])):
        with pytest.raises(NetaError) as err:
            read()
        assert str(path) in str(err.value) and "record 3" in str(err.value) and "0x7F7F" in str(err.value)


def test_missing_and_empty_directories_name_the_dir_and_expected_files(tmp_path):
    fmt = get_format("ETL8G")
    with pytest.raises(NetaError) as err:
        list_etl_files(tmp_path / "nowhere", fmt)
    assert "nowhere" in str(err.value) and "ETL8G_01" in str(err.value)
    (tmp_path / "README").write_text("not data")
    (tmp_path / "ETL8G_01.zip").write_bytes(b"")
    with pytest.raises(NetaError) as err:
        list_etl_files(tmp_path, fmt)
    assert str(tmp_path) in str(err.value) and "ETL8G_01" in str(err.value)


def test_directory_files_are_matched_by_prefix_in_natural_order(tmp_path):
    fmt = get_format("ETL9B")
    for name in ("ETL9B_10", "ETL9B_2", "ETL9B_1", "ETL8B2C1", "ETL9B_1.Z"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_etl_files(tmp_path, fmt)] == ["ETL9B_1", "ETL9B_2", "ETL9B_10"]


def test_read_dir_selects_classes_and_decodes_only_them(tmp_path):
    fmt = get_format("ETL9G")
    rng = np.random.default_rng(8)
    kept_images = []
    for f in range(2):
        codes = np.array([char_to_jis0208(c) for c in "あ亜い阿"], dtype=np.uint16)
        images = rng.integers(0, 16, (4, fmt.height, fmt.width), dtype=np.uint8)
        kept_images += [images[0], images[2]]
        write_etl_file(tmp_path / f"ETL9G_0{f + 1}", fmt, build_records(fmt, codes, [f + 1] * 4, images))
    records = read_etl_dir(tmp_path, fmt, ["あ", "い"])
    assert list(records.chars) == ["あ", "い", "あ", "い"]
    assert list(records.writers) == [1, 1, 2, 2]
    np.testing.assert_array_equal(records.images, np.stack(kept_images))
    assert len(read_etl_dir(tmp_path, fmt, None)) == 8


def test_encode_uses_codes_and_writers_over_stale_meta():
    fmt = get_format("ETL8G")
    records = build_records(fmt, [0x2422], [5], np.zeros((1, 127, 128), np.uint8))
    records.writers = np.array([9], dtype=np.int32)
    assert encode_records(fmt, records)["sheet"][0] == 9


def test_unpack_matches_the_nibble_table():
    from neta.hiragana.etl.reader import nibble_table, unpack_images

    fmt = get_format("ETL8G")
    packed = np.random.default_rng(9).integers(0, 256, (3, fmt.image_bytes), dtype=np.uint8)
    expect = nibble_table()[packed].reshape(3, fmt.height, fmt.width)
    np.testing.assert_array_equal(unpack_images(packed, fmt), expect)
