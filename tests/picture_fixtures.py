"""Pictures too large to decode, made without decoding them: a valid PNG of any size in kilobytes."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int) -> bytes:
    """A black 1-bit PNG of ``width`` x ``height``: its rows of zeros compress ~1000-fold, and they are
    fed to zlib one at a time, so even 20000 x 20000 costs a few kilobytes of memory and ~0.1 s."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def write_blank_png(path: Path, width: int, height: int) -> Path:
    path.write_bytes(blank_png(width, height))
    return path
