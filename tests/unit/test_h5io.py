"""neta.h5io and neta.atomic: the house style of every artifact."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from neta import h5io
from neta.atomic import atomic_path, write_json
from neta.errors import NetaError


def _datasets():
    rng = np.random.default_rng(0)
    return {
        "images": rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8),
        "labels": np.arange(300, dtype=np.int16) % 71,
        "classes": np.array(["あ", "い", "を"]),
    }


def test_write_read_round_trip_with_provenance(tmp_path):
    source = tmp_path / "input.bin"
    source.write_bytes(b"etl")
    out = tmp_path / "out.h5"
    h5io.write_h5(out, _datasets(), stage="convert_etl", params={"size": 28}, inputs=[source],
                  attrs={"format": "ETL8G"}, dataset_attrs={"images": {"layout": "NHW"}})
    data, attrs = h5io.read_h5(out)
    expected = _datasets()
    np.testing.assert_array_equal(data["images"], expected["images"])
    assert data["classes"].tolist() == ["あ", "い", "を"]
    assert attrs["stage"] == "convert_etl"
    assert json.loads(attrs["params_json"]) == {"size": 28}
    assert attrs["params_sha256"] == h5io.params_hash({"size": 28})
    assert str(source) in json.loads(attrs["inputs_json"])
    assert attrs["format"] == "ETL8G"
    with h5py.File(out, "r") as handle:
        images = handle["images"]
        assert images.chunks[1:] == (28, 28) and images.chunks[0] <= 300
        assert images.compression == "gzip"
        assert images.attrs["layout"] == "NHW"


def test_same_input_gives_same_bytes(tmp_path):
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path in paths:
        h5io.write_h5(path, _datasets(), stage="s", params={"k": 1})
        time.sleep(1.1)  # a time stamp in the file would differ now
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out.h5"
    calls = {"n": 0}
    real = h5io._create

    def crash_on_second(group, name, value):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(group, name, value)

    monkeypatch.setattr(h5io, "_create", crash_on_second)
    with pytest.raises(RuntimeError):
        h5io.write_h5(out, _datasets(), stage="s")
    assert list(tmp_path.iterdir()) == []


_KILL_SCRIPT = (
    "import numpy as np, sys\n"
    "from neta.h5io import write_h5\n"
    "images = np.random.default_rng(0).integers(0, 256, size=(2000, 3, 128, 128), dtype=np.uint8)\n"
    "write_h5(sys.argv[1], {'images': images}, stage='kill-test')\n"
)


def _kill_mid_write(out, min_bytes=1 << 20):
    """Run a big write_h5 in a child and SIGKILL it once its temporary holds ``min_bytes``.

    Returns the temporaries seen; asserts the output name never appeared while the child ran.
    """
    before = out.read_bytes() if out.exists() else None
    child = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(out)])
    pattern = f".{out.name}.*.part"
    deadline = time.time() + 120
    try:
        while time.time() < deadline and child.poll() is None:
            temps = list(out.parent.glob(pattern))
            assert (out.read_bytes() if out.exists() else None) == before, "output changed mid-write"
            if temps and temps[0].stat().st_size >= min_bytes:
                break
            time.sleep(0.005)
        assert child.poll() is None, "the writer finished before it could be killed"
        assert temps and temps[0].stat().st_size >= min_bytes, "the writer never filled its temporary"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return temps


def test_killed_writer_leaves_no_trusted_file_and_the_next_write_sweeps_up(tmp_path, caplog):
    """SIGKILL in the middle of a large write: the output name never appears; the next write of the
    same output removes the abandoned temporary."""
    out = tmp_path / "big.h5"
    temps = _kill_mid_write(out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [temps[0].name]  # the stale temporary, nothing else
    with pytest.raises(NetaError):
        h5io.read_h5(out)

    h5io.write_h5(out, {"x": np.arange(3)}, stage="after")
    assert [p.name for p in tmp_path.iterdir()] == ["big.h5"]
    assert temps[0].name in caplog.text
    assert h5io.read_h5(out)[1]["stage"] == "after"


def test_killed_rewrite_keeps_the_old_file_readable(tmp_path):
    out = tmp_path / "big.h5"
    h5io.write_h5(out, {"x": np.arange(3)}, stage="old")
    before = out.read_bytes()
    _kill_mid_write(out)
    assert out.read_bytes() == before
    data, attrs = h5io.read_h5(out)
    assert attrs["stage"] == "old" and data["x"].tolist() == [0, 1, 2]


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(NetaError, match="missing.h5"):
        h5io.read_h5(tmp_path / "missing.h5")
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not hdf5 at all")
    with pytest.raises(NetaError, match="broken.h5"):
        h5io.read_h5(broken)
    good = tmp_path / "good.h5"
    h5io.write_h5(good, {"x": np.zeros(3)}, stage="s")
    with pytest.raises(NetaError, match="'y'"):
        h5io.read_h5(good, names=["y"])


def test_describe_lists_datasets_and_attrs(tmp_path):
    out = tmp_path / "out.h5"
    h5io.write_h5(out, _datasets(), stage="convert_etl", params={"size": 28})
    text = h5io.describe(out)
    assert "/images  shape=(300, 28, 28) dtype=uint8" in text
    assert "compression=gzip(4)" in text
    assert "/classes  shape=(3,) dtype=str" in text and "'あ'" in text
    assert "@stage = 'convert_etl'" in text


def test_atomic_path_and_json(tmp_path):
    target = tmp_path / "sub" / "m.json"
    write_json(target, {"b": 1, "a": "を"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "を", "b": 1}
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise ValueError("boom")
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "を", "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["m.json"]


def test_atomic_dir_replaces_whole_trees_or_nothing(tmp_path):
    from neta.atomic import atomic_dir

    target = tmp_path / "site"
    with atomic_dir(target) as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("build failed")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
