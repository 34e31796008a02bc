"""neta.atomic: outputs get the umask's permissions, stale temporaries are swept, failures mid-write
leave the old output (or none) and no temporary."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import neta.atomic
from neta.atomic import atomic_dir, atomic_path, stale_temporaries, write_json
from neta.h5io import read_h5, write_h5


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def siblings(path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700),
                                                              (0o002, 0o664, 0o775)])
def test_outputs_get_the_permissions_of_a_plain_write(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    with atomic_path(tmp_path / "plain.txt") as tmp:
        tmp.write_text("x")
    write_json(tmp_path / "m.json", {"a": 1})
    write_h5(tmp_path / "d.h5", {"x": np.arange(10)}, stage="test")
    with atomic_dir(tmp_path / "tree") as tmp:
        (tmp / "inner").mkdir()
        (tmp / "inner" / "f.txt").write_text("y")
    for name in ("plain.txt", "m.json", "d.h5", "tree/inner/f.txt"):
        assert mode(tmp_path / name) == file_mode, name
    for name in ("tree", "tree/inner"):
        assert mode(tmp_path / name) == dir_mode, name
    # replacing an existing tree gives the new one the same permissions
    with atomic_dir(tmp_path / "tree") as tmp:
        (tmp / "g.txt").write_text("z")
    assert mode(tmp_path / "tree") == dir_mode and mode(tmp_path / "tree" / "g.txt") == file_mode


def _fake_stale(directory, name):
    """What a killed writer of ``name`` leaves: a temp file, a temp tree, a moved-aside old tree."""
    (directory / f".{name}.abc.part").mkdir()
    (directory / f".{name}.abc.part" / "ETL8G_01").write_bytes(b"\0" * 1000)
    (directory / f".{name}.k3j_x9qz.part").write_bytes(b"half")
    (directory / f".{name}.99999999-0a1b2c3d.old").mkdir()
    return {f".{name}.abc.part", f".{name}.k3j_x9qz.part", f".{name}.99999999-0a1b2c3d.old"}


def _others(directory):
    """Files of other targets (and plain files) that look similar but must stay."""
    names = [".x.h5.abc.part", ".xy.abc.part", ".y.abc.part", "x.abc.part", ".x.part", ".x.abc.partial", "x.h5"]
    for name in names:
        (directory / name).write_bytes(b"keep")
    return set(names)


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_next_write_removes_only_its_own_stale_temporaries(tmp_path, caplog, kind):
    stale = _fake_stale(tmp_path, "x")
    others = _others(tmp_path)
    assert {p.name for p in stale_temporaries(tmp_path / "x")} == stale
    with caplog.at_level(logging.WARNING, logger="neta.atomic"):
        if kind == "file":
            with atomic_path(tmp_path / "x") as tmp:
                tmp.write_text("new")
        else:
            with atomic_dir(tmp_path / "x") as tmp:
                (tmp / "f").write_text("new")
    assert set(siblings(tmp_path / "x")) == others | {"x"}
    for name in stale:
        assert name in caplog.text
    assert "interrupted write" in caplog.text


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    """Another thread of this process (or a running process) writing the same output keeps its temp."""
    live = tmp_path / f".x.{os.getpid()}-0a1b2c3d.part"
    live.write_text("in progress")
    dead_child = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_child.wait()
    dead = tmp_path / f".x.{dead_child.pid}-0a1b2c3d.part"
    dead.write_text("abandoned")
    with atomic_path(tmp_path / "x") as tmp:
        tmp.write_text("new")
    assert live.exists() and not dead.exists()


def test_exception_mid_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError, match="crashed"):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as handle:
                handle.write(b"\x01" * 100_000)
                handle.flush()
                assert tmp.stat().st_size == 100_000  # content really reached the temp file
                raise RuntimeError("crashed half way")
    assert siblings(target) == []

    target.write_bytes(b"old content")
    with pytest.raises(RuntimeError, match="crashed"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new partial")
            raise RuntimeError("crashed half way")
    assert target.read_bytes() == b"old content"
    assert siblings(target) == ["out.bin"]


def test_exception_mid_tree_leaves_no_tree_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "site"
    with pytest.raises(RuntimeError, match="crashed"):
        with atomic_dir(target) as tmp:
            (tmp / "a").mkdir()
            (tmp / "a" / "page.html").write_text("<html>")
            raise RuntimeError("crashed half way")
    assert siblings(target) == []

    with atomic_dir(target) as tmp:
        (tmp / "old.html").write_text("old")
    with pytest.raises(RuntimeError, match="crashed"):
        with atomic_dir(target) as tmp:
            (tmp / "new.html").write_text("new")
            (tmp / "deeper").mkdir()
            raise RuntimeError("crashed half way")
    assert sorted(p.name for p in target.iterdir()) == ["old.html"]
    assert (target / "old.html").read_text() == "old"
    assert siblings(target) == ["site"]


def test_failed_swap_puts_the_old_tree_back(tmp_path, monkeypatch):
    """The rename of the new tree into place fails after the old one was moved aside."""
    target = tmp_path / "site"
    with atomic_dir(target) as tmp:
        (tmp / "old.html").write_text("old")
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # 1: old tree aside, 2: new tree into place
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(neta.atomic.os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        with atomic_dir(target) as tmp:
            (tmp / "new.html").write_text("new")
    monkeypatch.undo()
    assert len(calls) == 3  # the third put the old tree back
    assert sorted(p.name for p in target.iterdir()) == ["old.html"]
    assert siblings(target) == ["site"]


def test_h5_write_failing_on_an_unconvertible_dataset_leaves_nothing(tmp_path):
    """A ragged value after two good (and large) datasets: h5py has written those when it fails."""
    out = tmp_path / "out.h5"
    good = np.random.default_rng(0).integers(0, 256, (2000, 28, 28), dtype=np.uint8)
    bad = {"images": good, "labels": np.arange(2000), "ragged": [[1, 2], [3]]}
    with pytest.raises(ValueError):
        write_h5(out, bad, stage="test")
    assert siblings(out) == []

    write_h5(out, {"images": good[:5]}, stage="old")
    before = out.read_bytes()
    with pytest.raises(ValueError):
        write_h5(out, bad, stage="test")
    assert out.read_bytes() == before
    data, attrs = read_h5(out)
    assert attrs["stage"] == "old" and data["images"].shape == (5, 28, 28)
    assert siblings(out) == ["out.h5"]
