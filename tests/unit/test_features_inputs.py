"""Which images the feature stage reads, in which order, and the shards it splits them into."""

import hashlib

import pytest

from neta.errors import NetaError
from neta.features.inputs import images_from, shard_of
from neta.settings import validate_config

MANIFEST_HEADER = "url,sha256,path,bytes,width,height,status,error\n"


def write_manifest(folder, rows):
    """rows: (name, content, status); content None for a failed row (no file)."""
    lines = [MANIFEST_HEADER]
    for name, content, status in rows:
        sha = hashlib.sha256(content).hexdigest() if content is not None else ""
        if content is not None:
            (folder / "files").mkdir(exist_ok=True)
            (folder / "files" / name).write_bytes(content)
        path = f"files/{name}" if content is not None else ""
        lines.append(f"http://x.test/{name},{sha},{path},,,,{status},\n")
    manifest = folder / "manifest.csv"
    manifest.write_text("".join(lines), encoding="utf-8")
    return manifest


def test_manifest_rows_with_status_ok_in_manifest_order(tmp_path):
    manifest = write_manifest(tmp_path, [("b.jpg", b"bbb", "ok"), ("gone.jpg", None, "http_error"),
                                         ("a.jpg", b"aaa", "ok"), ("b-again.jpg", b"bbb", "ok")])
    items = images_from(manifest)
    assert [path.name for _, path in items] == ["b.jpg", "a.jpg"]  # b-again: same content, kept once
    assert [image_id for image_id, _ in items] == [hashlib.sha256(c).hexdigest() for c in (b"bbb", b"aaa")]
    assert all(path == tmp_path / "files" / path.name for _, path in items)  # relative to the manifest's folder


def test_manifest_without_a_needed_column_is_named(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("url,path,status\nhttp://x.test/a,a.jpg,ok\n", encoding="utf-8")
    with pytest.raises(NetaError, match=r"manifest\.csv.*sha256"):
        images_from(manifest)


def test_folder_images_sorted_by_name_with_content_ids(tmp_path):
    for name, content in [("b.png", b"2"), ("a.JPG", b"1"), ("notes.txt", b"x"), (".a.jpg.123-ab.part", b"y")]:
        (tmp_path / name).write_bytes(content)
    items = images_from(tmp_path)
    assert [path.name for _, path in items] == ["a.JPG", "b.png"]
    assert [image_id for image_id, _ in items] == [hashlib.sha256(c).hexdigest() for c in (b"1", b"2")]


def test_missing_or_empty_source_is_an_error(tmp_path):
    with pytest.raises(NetaError, match="no such manifest or folder"):
        images_from(tmp_path / "nothing")
    with pytest.raises(NetaError, match="no images"):
        images_from(tmp_path)


@pytest.mark.parametrize("n, shards, batch_size", [(13, 3, 4), (100, 3, 32), (5, 4, 2), (2, 3, 4), (64, 1, 32)])
def test_shards_are_whole_batches_that_rebuild_the_input(n, shards, batch_size):
    items = list(range(n))
    parts = [shard_of(items, shard=k, shards=shards, batch_size=batch_size) for k in range(shards)]
    assert sum(parts, []) == items
    batches = [items[i : i + batch_size] for i in range(0, n, batch_size)]
    shard_batches = [part[i : i + batch_size] for part in parts for i in range(0, len(part), batch_size)]
    assert shard_batches == batches  # every batch of every shard is one the single job runs
    sizes = [len(part) for part in parts if part]
    assert all(size % batch_size == 0 for size in sizes[:-1])


def test_shard_outside_the_range_is_an_error():
    with pytest.raises(NetaError, match=r"0\.\.2"):
        shard_of([1, 2, 3], shard=3, shards=3, batch_size=1)


@pytest.mark.parametrize("key, value, message", [
    ("shards", 0, "less than the minimum of 1"), ("shards", 257, "greater than the maximum of 256"),
    ("batch_size", 0, "less than the minimum of 1"), ("workers", -1, "less than the minimum of 0"),
    ("max_failure_ratio", 1.5, "greater than the maximum of 1"), ("dtype", "bfloat16", "is not one of"),
    ("backend", "tensorrt", "is not one of"),
])
def test_the_schema_rejects_bad_features_values_naming_the_key(key, value, message):
    with pytest.raises(NetaError, match=rf"config key features\.{key}: .*{message}"):
        validate_config({"features": {key: value}})
