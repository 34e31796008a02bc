"""A full disk: big stages refuse up front, and a disk that fills mid-write is one line and exit 2.

The free space is faked by patching ``shutil.disk_usage``; a disk that fills is faked by writes that
raise ENOSPC past a byte budget, and, where this process may mount file systems (root in a
container), by a real 2 MiB tmpfs.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import uuid
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import neta.diskspace as diskspace
import neta.h5io as h5io
from neta.atomic import atomic_dir, atomic_path, write_text
from neta.cli import main
from neta.errors import NetaError
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import HIRAGANA_75, char_to_jis0208
from neta.hiragana.etl.writer import build_records, write_etl_file

MiB = 1 << 20
Usage = namedtuple("Usage", "total used free")


def fake_free(monkeypatch, free: int) -> None:
    monkeypatch.setattr(diskspace.shutil, "disk_usage", lambda path: Usage(10 * free, 9 * free, free))


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("neta: error:")]


def etl_dir(directory: Path, writers: int = 10) -> Path:
    """A small ETL8G file: every writer writes the 75 hiragana once (random levels)."""
    fmt = get_format("ETL8G")
    codes = np.array([char_to_jis0208(c) for c in HIRAGANA_75], dtype=np.uint16)
    images = np.random.default_rng(0).integers(0, 16, (writers * codes.size, fmt.height, fmt.width), dtype=np.uint8)
    directory.mkdir(parents=True)
    records = build_records(fmt, np.tile(codes, writers), np.repeat(np.arange(1, writers + 1), codes.size), images)
    write_etl_file(directory / "ETL8G_01", fmt, records)
    return directory


class FillingFile:
    """A file whose writes fail with ENOSPC once ``budget`` bytes went in, as on a disk that fills."""

    def __init__(self, handle, budget: int) -> None:
        self._handle, self._budget = handle, budget

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        if size > self._budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget -= size
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


# --- the check before the work ------------------------------------------------------------------------------


def test_etl_synth_refuses_up_front_naming_the_path_the_estimate_and_the_free_space(tmp_path, monkeypatch, capsys):
    fake_free(monkeypatch, 31 * MiB)
    out = tmp_path / "etl_synthetic"
    assert main(["etl", "synth", "--format", "ETL8G", "--out", str(out), "--writers", "20"]) == 2
    lines = error_lines(capsys.readouterr().err)
    # 20 sheets of 956 records of 8199 bytes (150 MiB), and the margin
    assert lines == [
        f"neta: error: not enough disk space to write {out}: 20 synthetic writers needs about 165 MiB, "
        f"31 MiB free in {tmp_path}; free some space or write the results elsewhere"
    ]
    assert list(tmp_path.iterdir()) == []


def test_pizza_augment_refuses_before_augmenting(tmp_path, monkeypatch):
    from neta.pizza.augment import augment_pizzas
    from neta.pizza.config import AugmentSettings

    fake_free(monkeypatch, 31 * MiB)
    recipe = np.zeros((9, 29), np.uint8)
    # 20 pizzas x 720 images of 3 x 32 x 32: the default run's augmented.h5 (39 MiB on disk)
    items = [(f"pizza{i:02d}", tmp_path / "never-read.jpg", recipe) for i in range(20)]
    out = tmp_path / "pizza" / "augmented.h5"
    augment = AugmentSettings(size=32, angle_step=1, flip=True, order="resize_then_rotate", top_view_x=165)
    with pytest.raises(NetaError) as caught:
        augment_pizzas(items, out, augment=augment, device="cpu", threads=1, max_failures=0)
    message = str(caught.value)
    assert message.startswith(f"not enough disk space to write {out}: 14400 images needs about 52 MiB, 31 MiB free")
    assert not out.parent.exists()  # refused before anything, even the folder


def test_etl_convert_refuses_when_the_images_do_not_fit(tmp_path, monkeypatch, capsys):
    source = etl_dir(tmp_path / "etl")
    fake_free(monkeypatch, 1 * MiB)
    out = tmp_path / "etl_28.h5"
    assert main(["etl", "convert", "--format", "ETL8G", "--input", str(source), "--out", str(out)]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"write {out}: 710 28x28 images needs about 1.6 MiB, 1.0 MiB free" in line
    assert not out.exists()


def test_enough_space_passes_and_the_estimate_bounds_the_file(tmp_path, monkeypatch):
    from neta.hiragana.etl.convert import convert_etl

    source = etl_dir(tmp_path / "etl")
    seen = []
    real = diskspace.require_free_space
    monkeypatch.setattr(
        "neta.hiragana.etl.convert.require_free_space",
        lambda path, needed, what: seen.append(needed) or real(path, needed, what),
    )
    out = tmp_path / "etl_28.h5"
    convert_etl(source, "ETL8G", out, size=28, classes=75, test_fraction=0.2, seed=0, normalise="cell")
    assert out.stat().st_size < seen[0] < 2 * MiB


# --- a disk that fills while writing ------------------------------------------------------------------------


def test_enospc_in_an_hdf5_write_of_a_command_is_one_line_exit_2_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    """The disk fills after 100 kB of etl_28.h5: the temporary goes, the old output stays as it was."""
    source = etl_dir(tmp_path / "etl")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "etl_28.h5"
    out.write_bytes(b"the previous run's file")
    monkeypatch.setattr(h5io, "open", lambda path, mode: FillingFile(open(path, mode), 100_000), raising=False)
    assert main(["-q", "etl", "convert", "--format", "ETL8G", "--input", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = error_lines(err)
    assert line.startswith(f"neta: error: no space left on device writing {out} (needs about ")
    assert line.endswith(" free)")
    assert sorted(p.name for p in out_dir.iterdir()) == ["etl_28.h5"]
    assert out.read_bytes() == b"the previous run's file"


def test_enospc_in_a_directory_output_names_the_directory_and_removes_the_tree(tmp_path, capsys):
    out = tmp_path / "layouts"
    with pytest.raises(NetaError) as caught:
        with atomic_dir(out, expected_bytes=50 * MiB) as tmp:
            write_text(tmp / "a.txt", "x" * 1000)
            with atomic_path(tmp / "b.bin") as part:
                part.write_bytes(b"y" * 3000)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(part))
    message = str(caught.value)
    assert message.startswith(f"no space left on device writing {out} (needs about 50 MiB, ")
    assert list(tmp_path.iterdir()) == []


def test_enospc_without_an_estimate_says_how_much_went_in(tmp_path):
    out = tmp_path / "model.pt"
    with pytest.raises(NetaError, match=r"writing .*model\.pt \(needs more than 4\.9 KiB, .* free\)"):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"z" * 5000)
            raise RuntimeError("HDF5 error: file write failed: errno = 28, error message = 'No space left on device'")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_through_untouched(tmp_path):
    with pytest.raises(OSError) as caught:
        with atomic_path(tmp_path / "x"):
            raise OSError(errno.EACCES, "Permission denied")
    assert caught.value.errno == errno.EACCES
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_outside_the_atomic_writers_is_still_one_line(monkeypatch, capsys):
    def describe(path, n_values):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/somewhere/log.txt")

    monkeypatch.setattr(h5io, "describe", describe)  # `neta inspect` imports it when it runs
    assert main(["inspect", "x.h5"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        "neta: error: no space left on device writing /somewhere/log.txt; free some space and run the command again"
    ]


# --- a real full file system --------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs, when this process may mount one (else the test is skipped)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"mount not permitted here: {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


# The check before the work is switched off, as when another job fills the disk after it.
_CONVERT_ON_A_FULL_DISK = (
    "import sys, neta.hiragana.etl.convert as convert\n"
    "convert.require_free_space = lambda *args: None\n"
    "from neta.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def test_real_full_tmpfs_gives_exit_2_not_a_crash(tmp_path, tiny_disk):
    """h5py writing into a file system that fills: no chained traceback, no segmentation fault."""
    source = etl_dir(tmp_path / "etl", writers=40)  # 3000 records: 2.3 MiB uncompressed
    (tiny_disk / "filler").write_bytes(b"\0" * 1_500_000)
    out = tiny_disk / "etl_28.h5"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CONVERT_ON_A_FULL_DISK,
            "-q",
            "etl",
            "convert",
            "--format",
            "ETL8G",
            "--input",
            str(source),
            "--out",
            str(out),
            "--normalise",
            "cell",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = error_lines(proc.stderr)
    assert line.startswith(f"neta: error: no space left on device writing {out} (needs about ")
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]
