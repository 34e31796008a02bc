"""Which images the stage reads, in which order, and which of them one shard takes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from neta.atomic import file_sha256
from neta.errors import NetaError
from neta.tables import read_table

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
MANIFEST_NEEDS = ("sha256", "path", "status")
OK = "ok"  # neta.scrape.download.OK, not imported: that module pulls in the whole crawler

ImageItem = tuple[str, Path]  # (image_id: the sha256 of the file, path)


def images_from(source: str | os.PathLike) -> list[ImageItem]:
    """(image_id, path) of every image of a download manifest or a folder, in a fixed order.

    A manifest (``manifest.csv`` of ``neta download``): its rows with status ok, in manifest order,
    the id its sha256 column, the path resolved against the manifest's folder. A folder: its image
    files (by suffix, hidden files skipped) sorted by name, the id the sha256 of the bytes. Content
    listed twice (two URLs, one photo) is kept once, at its first place.
    """
    source = Path(source)
    if source.is_dir():
        items = _from_folder(source)
    elif source.is_file():
        items = _from_manifest(source)
    else:
        raise NetaError(f"{source}: no such manifest or folder of images")
    first_paths: dict[str, Path] = {}
    for image_id, path in items:
        first_paths.setdefault(image_id, path)
    unique = list(first_paths.items())
    if len(unique) < len(items):
        log.info("%s: %d images listed twice (same sha256) kept once", source, len(items) - len(unique))
    if not unique:
        raise NetaError(f"{source}: no images to read (a manifest needs rows with status {OK}; a folder, "
                        f"files named {', '.join(sorted(IMAGE_SUFFIXES))})")
    return unique


def _from_manifest(path: Path) -> list[ImageItem]:
    manifest = read_table(path, MANIFEST_NEEDS, "the download stage (`neta download <site>`)")
    rows = manifest[manifest["status"] == OK]
    return [(sha256, path.parent / relative) for sha256, relative in zip(rows["sha256"], rows["path"], strict=True)]


def _from_folder(folder: Path) -> list[ImageItem]:
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())
    return [(file_sha256(p), p) for p in files]


def shard_of(items: list, *, shard: int, shards: int, batch_size: int) -> list:
    """The ``shard``-th (0-based) of ``shards`` contiguous blocks of whole batches of ``items``.

    Blocks hold whole batches, so every batch of a shard is the batch the single job would run:
    CPU kernels can round differently for another batch composition, and so the merged shards are
    bit-identical to one job's output. Blocks differ by at most one batch; a shard may be empty.
    ``shards`` and ``batch_size`` are the features section's; ``shard`` is the job's (``--shard``).
    """
    if not 0 <= shard < shards:
        raise NetaError(f"features: shard {shard} is outside 0..{shards - 1}")
    batches = -(-len(items) // batch_size)
    first, end = (batches * k // shards for k in (shard, shard + 1))
    return items[first * batch_size : end * batch_size]
