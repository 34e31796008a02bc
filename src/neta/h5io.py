"""The one way neta writes and reads HDF5 artifacts.

House style (docs/architecture.md): written to a temporary file beside the output and renamed on success, ``"w"``
mode only, datasets chunked along the first axis and compressed, ``track_times=False`` so the same
inputs give the same bytes, and provenance attributes on the root group. HDF5 writes the temporary
through a Python file object, so a full disk is an error this module raises once HDF5 has closed
the file, never a failure inside HDF5 (see :class:`_Sink`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from neta import __version__
from neta.atomic import atomic_path, file_sha256
from neta.diskspace import estimate
from neta.errors import NetaError

# Aim each chunk at about 1 MiB: big enough for gzip to pay off, small enough to read a few rows.
_CHUNK_BYTES = 1 << 20


def params_hash(params: Mapping) -> str:
    return hashlib.sha256(_canonical_json(params).encode("utf-8")).hexdigest()


def _canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


@functools.cache
def git_commit() -> str | None:
    """The commit of the source tree neta runs from, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def hash_inputs(paths: Sequence[str | os.PathLike]) -> dict[str, str]:
    """Path -> sha256 of each input, for the provenance attributes."""
    return {str(p): file_sha256(p) for p in paths}


def provenance_attrs(
    stage: str, params: Mapping, inputs: Sequence[str | os.PathLike] | Mapping[str, str]
) -> dict:
    hashes = dict(inputs) if isinstance(inputs, Mapping) else hash_inputs(inputs)
    return {
        "neta_version": __version__,
        "git_commit": git_commit() or "unknown",
        "stage": stage,
        "params_json": _canonical_json(dict(params)),
        "params_sha256": params_hash(dict(params)),
        "inputs_json": _canonical_json(hashes),
    }


# Per-dataset storage a stage may ask for (write_h5's ``storage``): compression filter -> its options.
_COMPRESSIONS = {"gzip": {"compression": "gzip", "compression_opts": 4}, "lzf": {"compression": "lzf"}}


def _chunks(array: np.ndarray, chunk_rows: int | None = None) -> tuple[int, ...]:
    if chunk_rows is None:
        row_bytes = max(1, array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64)))
        chunk_rows = _CHUNK_BYTES // row_bytes
    rows = int(max(1, min(array.shape[0], chunk_rows)))
    return (rows, *array.shape[1:])


def _create(group: h5py.Group, name: str, value, *, chunk_rows: int | None = None,
            compression: str = "gzip") -> h5py.Dataset:
    array = np.asarray(value)
    if array.dtype.kind in "UO":
        data = np.array([str(v) for v in array.ravel()], dtype=object).reshape(array.shape)
        kwargs = {"dtype": h5py.string_dtype("utf-8")}
    else:
        data, kwargs = array, {}
    if array.ndim == 0 or array.size == 0:
        return group.create_dataset(name, data=data, track_times=False, **kwargs)
    filters = {} if array.dtype.kind in "UO" else _COMPRESSIONS[compression]
    return group.create_dataset(
        name, data=data, chunks=_chunks(array, chunk_rows), track_times=False, **filters, **kwargs
    )


def _attr_value(value):
    if isinstance(value, (dict, list, tuple)) and not (
        isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value)
    ):
        return _canonical_json(value)
    return value


def write_h5(
    path: str | os.PathLike,
    datasets: Mapping[str, np.ndarray],
    *,
    stage: str,
    params: Mapping = {},
    inputs: Sequence[str | os.PathLike] | Mapping[str, str] = (),
    attrs: Mapping = {},
    dataset_attrs: Mapping[str, Mapping] = {},
    storage: Mapping[str, Mapping] = {},
) -> None:
    """Write ``datasets`` (name -> array) to ``path`` atomically with provenance on the root.

    ``inputs`` are the files the stage read: paths to hash, or a mapping path -> sha256 already
    computed (a stage with large inputs hashes them while it works, see :func:`hash_inputs`).
    ``storage`` overrides how a dataset is stored, name -> ``{"chunk_rows": rows a chunk along the
    first axis (instead of ~1 MiB), "compression": "gzip" (level 4, the default) or "lzf" (faster,
    larger)}``, e.g. so one chunk is what a reader takes at a time.
    """
    for what, names in (("dataset_attrs", dataset_attrs), ("storage", storage)):
        unknown = set(names) - set(datasets)
        if unknown:
            raise ValueError(f"{what} names datasets that are not written: {sorted(unknown)}")
    for name, options in storage.items():
        if set(options) - {"chunk_rows", "compression"} or options.get("compression", "gzip") not in _COMPRESSIONS:
            raise ValueError(f"storage of {name}: {dict(options)} (allowed: chunk_rows, compression in "
                             f"{sorted(_COMPRESSIONS)})")
    root_attrs = {**provenance_attrs(stage, params, inputs), **attrs}
    with atomic_path(path, expected_bytes=estimate(1, sum(map(_stored_bytes, datasets.values())))) as tmp:
        # HDF5 writes through a Python file object that never fails (see _Sink); a full disk is
        # raised here once HDF5 has let go of the file, as an OSError atomic_path turns into a NetaError
        with open(tmp, "w+b") as raw:
            sink = _Sink(raw)
            try:
                with h5py.File(sink, "w", track_order=True) as handle:
                    for name, value in datasets.items():
                        dataset = _create(handle, name.lstrip("/"), value, **storage.get(name, {}))
                        for key, attr in dataset_attrs.get(name, {}).items():
                            dataset.attrs[key] = _attr_value(attr)
                        if sink.error is not None:
                            break  # a write failed: no use compressing the rest, only closing the file
                    if sink.error is None:
                        for key, value in root_attrs.items():
                            handle.attrs[key] = _attr_value(value)
            except Exception as exc:
                if sink.error is None:
                    raise
                raise sink.error from exc  # HDF5 read back what was never written: the disk is the cause
            if sink.error is not None:
                raise sink.error


def _stored_bytes(value) -> int:
    """Uncompressed bytes of a dataset in the file: an upper bound for the disk it takes."""
    array = np.asarray(value)
    if array.dtype.kind in "UO":  # variable-length UTF-8: the text, and 16 bytes a value to point at it
        return sum(len(str(v).encode("utf-8")) + 16 for v in array.ravel())
    return int(array.nbytes)


class _Sink:
    """The file object HDF5 writes a temporary through (h5py's ``fileobj`` driver), failing never.

    When the disk fills, HDF5's write fails and the file it holds can no longer be closed: with the
    ``sec2`` driver, h5py's close raises, and the next attempt (the object's finaliser, or HDF5's
    own clean-up at exit) touches memory HDF5 already freed and the process dies of a segmentation
    fault. Here the first failed write is kept in ``error`` and every write after it is dropped and
    reported as done, so HDF5 finishes and closes its file normally; the caller then raises
    ``error``, and the temporary, never renamed, is deleted.
    """

    def __init__(self, raw) -> None:
        self._raw = raw
        self.error: OSError | None = None

    def _guard(self, call, *args, done=None):
        if self.error is None:
            try:
                return call(*args)
            except OSError as exc:
                self.error = exc
        return done

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        return self._guard(self._raw.write, data, done=size)

    def readinto(self, buffer) -> int:
        return self._raw.readinto(buffer)

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def truncate(self, size: int | None = None) -> int:
        return self._guard(self._raw.truncate, size, done=size)

    def flush(self) -> None:
        self._guard(self._raw.flush)


def _read_dataset(dataset: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return dataset.asstr()[()] if dataset.ndim == 0 else np.asarray(dataset.asstr()[...], dtype=str)
    return dataset[()]


def _open_h5(path: Path) -> h5py.File:
    """Open ``path`` for reading, or raise NetaError saying only what the file is not.

    The caller adds advice when it knows more: a stage reading a workflow artifact knows the
    workflow can rebuild it (read_h5); ``neta inspect`` may be shown any file of the user's.
    """
    if path.is_dir():
        raise NetaError(f"{path} is a directory, not an HDF5 file")
    if not path.is_file():
        raise NetaError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        # h5py says e.g. "Unable to synchronously open file (file signature not found)": keep the cause
        cause = re.search(r"\(([^()]*)\)\s*$", str(exc))
        reason = cause[1] if cause else str(exc)
        if not h5py.is_hdf5(path):
            raise NetaError(f"{path} is not an HDF5 file ({reason})") from exc
        raise NetaError(f"{path} is an HDF5 file that cannot be read ({reason}); it may be truncated") from exc


def read_h5(path: str | os.PathLike, names: Sequence[str] | None = None) -> tuple[dict, dict]:
    """Return (datasets, root attributes); string datasets come back as numpy ``str`` arrays.

    ``path`` is a workflow artifact, so the error for a missing or unreadable one says how to rebuild it.
    """
    path = Path(path)
    if not path.exists():
        raise NetaError(f"{path}: no such HDF5 file (run the stage that makes it first)")
    try:
        handle = _open_h5(path)
    except NetaError as exc:
        target = shlex.quote(str(path))
        raise NetaError(f"{exc}; delete it and run `make run` (or `snakemake --cores 2 {target}`) to rebuild "
                        "it") from exc.__cause__
    with handle:
        wanted = list(names) if names is not None else [k for k in handle if isinstance(handle[k], h5py.Dataset)]
        missing = [n for n in wanted if n.lstrip("/") not in handle]
        if missing:
            raise NetaError(f"{path}: missing dataset(s) {missing}; it has {sorted(handle)}")
        data = {n.lstrip("/"): _read_dataset(handle[n.lstrip("/")]) for n in wanted}
        attrs = {k: _decode_attr(v) for k, v in handle.attrs.items()}
    return data, attrs


def _decode_attr(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def describe(path: str | os.PathLike, n_values: int = 5) -> str:
    """A readable listing of every dataset and attribute, as ``neta inspect`` prints it."""
    path = Path(path)
    lines = [f"{path}"]
    # Any file may be named here, not only the workflow's: the error says what it is not, no more.
    with _open_h5(path) as handle:
        lines += _describe_attrs(handle, indent="  ")

        def visit(name: str, obj) -> None:
            if isinstance(obj, h5py.Group):
                lines.append(f"  /{name}/  (group)")
                lines.extend(_describe_attrs(obj, indent="    "))
                return
            compression = obj.compression or "none"
            if obj.compression_opts is not None:
                compression += f"({obj.compression_opts})"
            lines.append(
                f"  /{name}  shape={obj.shape} dtype={_dtype_name(obj)} chunks={obj.chunks} "
                f"compression={compression}"
            )
            lines.append(f"      values: {_sample(obj, n_values)}")
            lines.extend(_describe_attrs(obj, indent="      "))

        handle.visititems(visit)
    return "\n".join(lines)


def _dtype_name(dataset: h5py.Dataset) -> str:
    return "str" if h5py.check_string_dtype(dataset.dtype) is not None else str(dataset.dtype)


def _sample(dataset: h5py.Dataset, n_values: int) -> str:
    if dataset.ndim == 0:
        return repr(_read_dataset(dataset))
    head = dataset.asstr()[:n_values] if _dtype_name(dataset) == "str" else dataset[:n_values]
    flat = np.asarray(head).ravel()[:n_values]
    more = " …" if dataset.size > len(flat) else ""
    return "[" + ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in flat) + "]" + more


def _describe_attrs(obj, indent: str) -> list[str]:
    lines = []
    for key, value in obj.attrs.items():
        text = repr(_decode_attr(value))
        if len(text) > 200:
            text = text[:197] + "..."
        lines.append(f"{indent}@{key} = {text}")
    return lines
