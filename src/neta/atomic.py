"""Atomic file output: a killed job never leaves a file that a rerun would trust.

An output is first written under a temporary name beside it, ``.<name>.<pid>-<random>.part``, and
renamed onto ``<name>`` only when the writing block succeeds (a directory output moves the old tree
aside as ``.<name>.<pid>-<random>.old`` during the swap). Temporaries are created the way a plain
``open(path, "w")`` or ``mkdir`` creates a file, so the kernel applies the user's umask (and any
default ACL): files end up ``0o666 & ~umask``, directories ``0o777 & ~umask``, not the private
``0o600``/``0o700`` of :func:`tempfile.mkstemp`. No code here reads or sets the process-wide umask.

A job killed mid-write leaves its temporary behind. The next write of the same output removes the
temporaries of that output only (the names above, with a dot-free middle part, so ``x``'s pattern
never matches ``x.h5``'s) whose writing process is gone; one still running on this host is left
alone, so two threads writing the same output do not delete each other's work.

A disk that fills while a temporary is written (ENOSPC, whichever library met it) removes the
temporary and raises :class:`neta.diskspace.DiskFullError`, a NetaError naming the output.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neta.diskspace import FULL_BELOW, DiskFullError, causes, disk_full_error, free_bytes, is_disk_full

log = logging.getLogger(__name__)


def _temp_name(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _create_temp(target: Path, suffix: str, *, directory: bool) -> Path:
    """A new, empty file or directory beside ``target`` with the umask's permissions."""
    for _ in range(100):
        path = _temp_name(target, suffix)
        try:
            if directory:
                os.mkdir(path, 0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {target}")


def _writer_alive(middle: str) -> bool:
    """Whether the process named in a temporary's ``<pid>-<random>`` part still runs here."""
    pid, dash, _ = middle.partition("-")
    if not (dash and pid.isdigit()) or int(pid) == 0:
        return False  # not one of ours (e.g. an older mkstemp name): nobody is writing it
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    return True


def stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Temporaries of ``target`` left by interrupted writes (their writer no longer runs)."""
    target = Path(target)
    pattern = re.compile(re.escape(f".{target.name}.") + r"([^.]+)\.(?:part|old)")
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return []
    stale = []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not _writer_alive(match.group(1)):
            stale.append(Path(entry.path))
    return sorted(stale)


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Delete what :func:`stale_temporaries` finds, logging each; return the removed paths.

    Housekeeping only: a temporary that cannot be removed is logged and left, never an error.
    """
    removed = []
    for path in stale_temporaries(target):
        try:
            size = _tree_bytes(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # another cleaner got there first
        except OSError as exc:
            log.warning("could not remove %s, left by an interrupted write: %s", path, exc)
            continue
        log.warning("removed %s (%d bytes), left by an interrupted write of %s", path, size, Path(target).name)
        removed.append(path)
    return removed


def _tree_bytes(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())


def _prepare(path: str | os.PathLike) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    return target


@contextmanager
def atomic_path(path: str | os.PathLike, *, expected_bytes: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    The temporary file lives in the same directory so the final ``os.replace`` is a rename on one
    file system, which POSIX makes atomic. It exists (empty) when the block starts; writers that
    truncate it (``open(tmp, "w")``, ``h5py.File(tmp, "w")``, ``torch.save``) keep its permissions.
    A full disk (ENOSPC) anywhere in the block removes the temporary and raises a
    :class:`~neta.diskspace.DiskFullError` naming ``path``, the space needed (``expected_bytes`` when
    the writer knows it, else what went in before the disk filled) and the space free.
    """
    target = Path(path)
    tmp = None
    try:
        target = _prepare(target)
        tmp = _create_temp(target, ".part", directory=False)
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        _raise_if_disk_full(exc, target, tmp, expected_bytes)
        raise
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _raise_if_disk_full(exc: BaseException, target: Path, tmp: Path | None, expected_bytes: int | None) -> None:
    """Turn a full disk met while writing ``tmp`` into the one DiskFullError for ``target``.

    A DiskFullError of a file inside ``tmp`` (a file of a directory output) becomes one for ``target``;
    any other exception is left to propagate as it is.
    """
    if not (is_disk_full(exc) or _failed_on_a_full_disk(exc, tmp)):
        return
    inner = next((e for e in causes(exc) if isinstance(e, DiskFullError)), None)
    if inner is not None and (tmp is None or not inner.path.is_relative_to(tmp)):
        return  # another output's error, already complete
    in_tmp = _tree_bytes(tmp) if tmp is not None and os.path.lexists(tmp) else 0
    free_then = _free_or_zero(target)
    _discard(tmp)
    # what is free without the temporary: a writer that still holds it open (torch.save's stream, until
    # the traceback goes) keeps its blocks after the unlink, so count them as free
    free = max(_free_or_zero(target), free_then + in_tmp)
    written = in_tmp + (inner.written if inner is not None else 0)
    raise disk_full_error(target, written=written, expected=expected_bytes, free=free) from exc


def _free_or_zero(path: Path) -> int:
    try:
        return free_bytes(path)
    except OSError:
        return 0


def _failed_on_a_full_disk(exc: BaseException, tmp: Path | None) -> bool:
    """An I/O error that does not say why, raised with (almost) no space left beside ``tmp``.

    Some writers lose the errno: ``torch.save`` on a full disk raises ``RuntimeError: basic_ios::clear:
    iostream error``. A write that fails for want of space leaves less than a block or so free.
    """
    if tmp is None or not any(isinstance(cause, (OSError, RuntimeError)) for cause in causes(exc)):
        return False
    return _free_or_zero(tmp) < FULL_BELOW


def _discard(tmp: Path | None) -> None:
    """Remove a temporary file or tree; one that cannot be removed is logged (the next write sweeps it)."""
    if tmp is None or not os.path.lexists(tmp):
        return
    try:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp)
        else:
            tmp.unlink()
    except OSError as exc:
        log.warning("could not remove the temporary %s: %s", tmp, exc)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_csv(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame as UTF-8 CSV with a header and no index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8")


def file_sha256(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_dir(path: str | os.PathLike, *, expected_bytes: int | None = None) -> Iterator[Path]:
    """Like :func:`atomic_path` for a directory output: fill a temp dir, then rename it into place.

    An existing directory is moved aside first and deleted only once the new one is in place, so a
    failure at any point leaves either the old tree or the new one, never a half of either. A full
    disk is reported as by :func:`atomic_path`, for the directory.
    """
    target = Path(path)
    tmp = None
    try:
        target = _prepare(target)
        tmp = _create_temp(target, ".part", directory=True)
        yield tmp
        if not target.exists():
            os.replace(tmp, target)
            return
        previous = _create_temp(target, ".old", directory=True)
        os.replace(target, previous)  # renaming onto an empty directory is allowed by POSIX
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(previous, target)
            raise
        shutil.rmtree(previous)
    except BaseException as exc:
        _raise_if_disk_full(exc, target, tmp, expected_bytes)
        raise
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp)
