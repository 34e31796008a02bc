"""Write ETL files: the exact inverse of :mod:`neta.hiragana.etl.reader` (which this module does not import).

Used by the synthetic-data stage and by the round-trip tests of every format. Images are packed
(4-bit: two pixels a byte, high nibble first; 1-bit: ``np.packbits``) into a structured array of the
format's records, which goes to disk with one ``tofile`` through an atomic temporary file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neta.atomic import atomic_path
from neta.hiragana.etl.formats import EtlFormat, EtlRecords
from neta.hiragana.etl.jis import decode_codes

log = logging.getLogger(__name__)


def pack_images(images: np.ndarray, fmt: EtlFormat) -> np.ndarray:
    """(N, H, W) levels 0 .. 2**bits - 1 -> (N, image_bytes) packed rows."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (fmt.height, fmt.width):
        raise ValueError(f"{fmt.name} images must be (N, {fmt.height}, {fmt.width}), got {images.shape}")
    if images.size and (images.min() < 0 or images.max() > fmt.max_value):
        raise ValueError(f"{fmt.name} pixel levels must lie in 0..{fmt.max_value}")
    flat = images.astype(np.uint8).reshape(images.shape[0], -1)
    if fmt.bits == 4:
        return (flat[:, 0::2] << 4) | flat[:, 1::2]
    if fmt.bits == 1:
        return np.packbits(flat, axis=-1)
    raise ValueError(f"{fmt.name}: unsupported bit depth {fmt.bits}")


def build_records(
    fmt: EtlFormat,
    codes: np.ndarray,
    writers: np.ndarray,
    images: np.ndarray,
    fields: Mapping[str, np.ndarray] = {},
) -> EtlRecords:
    """EtlRecords built in memory; non-image fields not given in `fields` are zero."""
    codes = np.asarray(codes, dtype=np.uint16)
    meta = np.zeros(codes.shape[0], dtype=[(n, fmt.dtype.fields[n][0]) for n in fmt.meta_names])
    for name, value in fields.items():
        meta[name] = value
    meta["code"] = codes
    meta["sheet"] = writers
    return EtlRecords(
        codes=codes,
        chars=decode_codes(codes, fmt.code_kind),
        writers=np.asarray(writers, dtype=np.int32),
        images=np.asarray(images, dtype=np.uint8),
        meta=meta,
    )


def encode_records(fmt: EtlFormat, records: EtlRecords) -> np.ndarray:
    """The structured array of `records` as they go to disk (without a dummy record)."""
    n = len(records)
    out = np.zeros(n, dtype=fmt.dtype)
    if records.meta is not None and len(records.meta):
        for name in records.meta.dtype.names:
            out[name] = records.meta[name]
    # codes and writers are the authoritative arrays; meta may predate edits to them
    out["code"] = records.codes
    out["sheet"] = records.writers
    out["image"] = pack_images(records.images, fmt)
    return out


def write_etl_file(path: str | os.PathLike, fmt: EtlFormat, records: EtlRecords) -> Path:
    """Write `records` as one `fmt` file, atomically; B types get their dummy first record."""
    path = Path(path)
    body = encode_records(fmt, records)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            if fmt.dummy_first_record:
                dummy = records.dummy or bytes(fmt.record_size)
                if len(dummy) != fmt.record_size:
                    raise ValueError(f"{fmt.name} dummy record must be {fmt.record_size} bytes, got {len(dummy)}")
                handle.write(dummy)
            body.tofile(handle)
    log.debug("wrote %d %s records to %s", len(records), fmt.name, path)
    return path
