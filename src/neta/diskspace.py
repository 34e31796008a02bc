"""Disk space: refuse a big write before the work starts, and one clear error if the disk fills anyway.

A stage that writes hundreds of MB estimates its output from what it is about to write (records times
the bytes a record takes, uncompressed, plus a margin) and calls :func:`require_free_space` before
it does the work, so a disk that is too small stops it in a second with the path, the estimate and
the free space, not after minutes of work.

Free space can still run out mid-write (another job filled the disk, or the estimate was low). The
atomic writers (:mod:`neta.atomic`) then remove their temporary and raise :class:`DiskFullError`, a
:class:`~neta.errors.NetaError`: ``no space left on device writing <path> (needs about X, Y free)``.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from neta.errors import NetaError

MARGIN = 1.10  # the estimate times this ...
SLACK = 1 << 20  # ... plus this: HDF5 metadata, tables and file-system blocks the record count misses
FULL_BELOW = 1 << 20  # an I/O error with less than this free counts as a full disk, whatever it says
FILE_BLOCK = 4096  # a small file takes at least one block of a usual file system (ext4, xfs, tmpfs)

# Messages of a full disk from libraries that raise without an errno: h5py's OSError or RuntimeError
# when HDF5's write() failed ("errno = 28, error message = 'No space left on device'"), and numpy's
# ``tofile`` when fallocate() said ENOSPC ("Not enough free space to write 39191220 bytes ...").
_DISK_FULL_TEXT = (os.strerror(errno.ENOSPC).lower(), f"errno = {errno.ENOSPC},", "not enough free space to write")


class DiskFullError(NetaError):
    """The disk filled while writing ``path``; ``written`` bytes had gone into its temporary."""

    def __init__(self, message: str, *, path: Path, written: int) -> None:
        super().__init__(message)
        self.path, self.written = path, written


def size_text(n: float) -> str:
    """Bytes as ``df -h`` counts them (powers of 1024): ``950 KiB``, ``54 MiB``, ``1.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            break
        n /= 1024
    return f"{n:.1f} {unit}" if unit != "B" and abs(n) < 10 else f"{n:.0f} {unit}"


def estimate(records: int, bytes_per_record: float, extra: int = 0) -> int:
    """Bytes to expect for ``records`` of ``bytes_per_record`` (+ ``extra``), with the margin."""
    return math.ceil((records * bytes_per_record + extra) * MARGIN) + SLACK


def existing_dir(path: str | os.PathLike) -> Path:
    """The directory ``path`` will be written in, or its nearest ancestor that exists yet."""
    directory = Path(path).absolute().parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes (for this user) on the file system ``path`` will be written to."""
    return shutil.disk_usage(existing_dir(path)).free


def require_free_space(path: str | os.PathLike, needed: int, what: str) -> None:
    """Raise a NetaError naming ``path`` when its file system has less than ``needed`` bytes free.

    The old output, when there is one, is not counted as space: an output is written beside it and
    replaces it only when complete, so both exist for a moment.
    """
    free = free_bytes(path)
    if needed > free:
        raise NetaError(
            f"not enough disk space to write {path}: {what} needs about {size_text(needed)}, "
            f"{size_text(free)} free in {existing_dir(path)}; free some space or write the results elsewhere"
        )


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc``, then the exception it was raised from or while handling, and so on."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from or while handling) is a full disk."""
    for cause in causes(exc):
        if isinstance(cause, DiskFullError) or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC):
            return True
        if isinstance(cause, (OSError, RuntimeError)) and any(text in str(cause).lower() for text in _DISK_FULL_TEXT):
            return True
    return False


def disk_full_error(path: str | os.PathLike, *, written: int, expected: int | None, free: int) -> DiskFullError:
    """The error for a write of ``path`` that ran out of space after ``written`` bytes, ``free`` bytes
    being free once its temporary is gone; ``expected`` is what the writer thought it needed, if known."""
    if expected is not None and expected > written:
        needs = f"needs about {size_text(expected)}"
    else:
        needs = f"needs more than {size_text(written)}"
    return DiskFullError(
        f"no space left on device writing {path} ({needs}, {size_text(free)} free)", path=Path(path), written=written
    )
