"""Set aside the workflow's files that no longer read, so the run that follows rebuilds them.

`make run` calls this after clearing a stale lock. A file of `results/` cut short by a full disk, a
crash outside neta's temporary-then-rename writes, or a hand edit still has its time, so Snakemake
would schedule the stages that read it, and each would fail on it (its outputs deleted as a failed
job's) until the user found the file and removed it. Here every HDF5 file, table, JSON file and
checkpoint under `results/` is opened the cheap way its format allows (HDF5 notices a truncated file
on opening; a torch checkpoint is a zip archive with checksums). One that fails is renamed to
`<name>.unreadable` with a line saying why, and the run rebuilds it from its inputs, then what it
feeds. Nothing is checked while a snakemake works in the directory (its files may be mid-write).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from clear_stale_lock import snakemake_processes

SKIPPED = {"cache", "logs", "benchmarks"}  # crawl caches (SQLite) and the jobs' own records


def check_h5(path: Path) -> None:
    import h5py  # here: the other checks do without it

    with h5py.File(path, "r") as handle:
        handle.visit(lambda name: None)  # reads every group's index, not the data


def check_csv(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if not header:
            raise ValueError("no header line")
        for number, row in enumerate(rows, start=2):
            if row and len(row) != len(header):
                raise ValueError(f"line {number} has {len(row)} fields, the header {len(header)}")


def check_json(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        json.load(handle)


def check_checkpoint(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        broken = archive.testzip()
    if broken is not None:
        raise ValueError(f"{broken} inside fails its checksum")


CHECKS: dict[str, Callable[[Path], None]] = {
    ".h5": check_h5, ".csv": check_csv, ".json": check_json, ".pt": check_checkpoint,
}


def artifacts(results: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(results):
        if Path(folder) == results:
            subfolders[:] = [name for name in subfolders if name not in SKIPPED]
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]  # temporaries
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix in CHECKS:
                yield Path(folder) / name


def unreadable(results: Path) -> Iterator[tuple[Path, str]]:
    for path in artifacts(results):
        try:
            CHECKS[path.suffix](path)
        except Exception as exc:  # whatever the reader raises, the file does not read
            yield path, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def set_aside(directory: Path) -> list[Path]:
    """Rename every unreadable artifact under ``directory/results`` to ``<name>.unreadable``; the renamed."""
    results = directory / "results"
    if not results.is_dir() or snakemake_processes(directory.resolve()):
        return []
    moved = []
    for path, why in list(unreadable(results)):
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        moved.append(aside)
        print(f"{path} does not read ({why}); moved to {aside.name}, this run rebuilds it from its inputs",
              file=sys.stderr)
    return moved


if __name__ == "__main__":
    set_aside(Path.cwd())
