"""Test writers in every layout the readers accept, for proxies of real test sets.

A real test of the recognizer may come as ETL8G records (4-bit 128 x 127 cells with a margin), as
AIST's ETL8B2 records (1 bit, 64 x 63, binarised and size-normalised so that the character fills
the cell edge to edge) or as ordinary pictures. :func:`write_layouts` writes the same characters in
all of them, so the evaluation can score one writer set through ``neta hiragana eval`` in each ETL
layout and through ``neta hiragana predict`` as pictures, and show whether the paths agree:

``ETL8G/ETL8G_01``      the records as they are
``ETL8B2/ETL8B2C1``     binarised at half the record's ink level and stretched to fill 64 x 63
``pictures/b64/*.png``  the ETL8B2 images as black-on-white pictures (64 x 63)
``pictures/g128/*.png`` the ETL8G cells as grey pictures, paper white (128 x 127)
``pictures/dust128/*.png`` the same with one to three specks of dust in the margin, as a scanner with
                        dust on its glass writes them (pen-sized dark dots, away from the ink)
``pictures/ruled128/*.png`` the grey ones as crops of a box on a ruled sheet that kept the box's line
                        along one side or two sides meeting at a corner (a sheet scanned a little turned)
``pictures/labels.csv`` ``file,char,writer`` of every picture

Like the synthetic files they come from, these are SYNTHETIC writers, not real handwriting.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from neta.atomic import atomic_dir
from neta.diskspace import FILE_BLOCK, estimate, require_free_space
from neta.errors import NetaError
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import HIRAGANA_75
from neta.hiragana.etl.reader import read_etl_dir
from neta.hiragana.etl.writer import build_records, write_etl_file

log = logging.getLogger(__name__)

PICTURE_SETS = ("b64", "g128", "dust128", "ruled128")
DUST_SPECKS = (1, 3)  # specks a dusty picture gets, fewest and most
DUST_CLEARANCE = 6  # pixels a speck keeps from the ink's box
DUST_SEED = 1 << 23  # seed stream of the dust, apart from every writer's
RULED_SEED = 1 << 24  # ... and of the ruled lines
LABELS_FILE = "labels.csv"
INK_CUT = 0.5  # share of a record's ink level (its 95th percentile) a pixel must reach to be black


def binarise(raw: np.ndarray, bits: int) -> np.ndarray:
    """(H, W) levels -> bool ink mask: at least INK_CUT of the record's ink level, and above noise."""
    levels = raw.astype(np.float32) / float((1 << bits) - 1)
    inked = levels[levels > 0.2]
    level = float(np.percentile(inked, 95)) if inked.size else 1.0
    return levels >= max(INK_CUT * level, 0.2)


def dusty(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey picture (paper 255) with specks of dust in its margin: 3 or 5 pixels across, dark,
    at least :data:`DUST_CLEARANCE` pixels outside the ink's box, so they change no stroke."""
    ink = grey < 128
    out = grey.copy()
    if not ink.any():
        return out
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    free = np.ones(grey.shape, bool)
    free[max(0, rows[0] - DUST_CLEARANCE) : rows[-1] + DUST_CLEARANCE + 1,
         max(0, cols[0] - DUST_CLEARANCE) : cols[-1] + DUST_CLEARANCE + 1] = False
    ys, xs = np.nonzero(free)
    if not ys.size:
        return out
    for _ in range(int(rng.integers(DUST_SPECKS[0], DUST_SPECKS[1] + 1))):
        k, radius = int(rng.integers(ys.size)), int(rng.integers(1, 3))
        out[max(0, ys[k] - radius) : ys[k] + radius + 1, max(0, xs[k] - radius) : xs[k] + radius + 1] = int(
            rng.integers(0, 100))
    return out


def ruled(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey picture (paper 255) as the crop of a box on a ruled sheet: the box's line, 1 or 2 pixels
    wide and dark to mid grey, along one side of the picture or two sides meeting at a corner, from
    end to end, about 2 pixels in from the edge and drifting up to a pixel either way across the
    picture (a sheet scanned a little turned)."""
    out = grey.copy()
    first = int(rng.integers(4))  # above, below, left, right
    sides = [first]
    if rng.random() < 0.5:  # a side meeting it at a corner
        sides.append(int((2 if first < 2 else 0) + rng.integers(2)))
    for side in sides:
        # each side as rows counted from its edge: a view, so drawing on it draws on ``out``
        rows = (out, out[::-1], out.T, out.T[::-1])[side]
        along = np.arange(rows.shape[1])
        depth, thick, level = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(30, 130))
        drift = rng.uniform(-2.0, 2.0) * (along / (along.size - 1) - 0.5)
        first_row = np.clip(depth + np.rint(drift).astype(int), 0, None)
        for k in range(thick):
            rows[first_row + k, along] = np.minimum(rows[first_row + k, along], level)
    return out


def b_type(raw: np.ndarray, bits: int, *, width: int = 64, height: int = 63) -> np.ndarray:
    """One record as an ETL8B-style image: (height, width) uint8 0/1, the ink's box stretched to fill it."""
    mask = binarise(raw, bits)
    if not mask.any():
        return np.zeros((height, width), np.uint8)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    stretched = np.asarray(Image.fromarray(crop).resize((width, height), Image.BILINEAR), dtype=np.float32)
    return (stretched >= 0.5).astype(np.uint8)


def write_layouts(
    etl_dir: str | os.PathLike, fmt_name: str, out_dir: str | os.PathLike, *, writers=None
) -> dict:
    """Write the hiragana records of ``writers`` (all when None) in ``etl_dir`` in every layout above."""
    fmt = get_format(fmt_name)
    records = read_etl_dir(etl_dir, fmt, list(HIRAGANA_75))
    if writers is not None:
        records = records.take(np.flatnonzero(np.isin(records.writers, np.asarray(sorted(writers)))))
    if len(records) == 0:
        raise NetaError(f"{etl_dir}: no hiragana record of the chosen writers to relayout")
    etl8g, etl8b2 = get_format("ETL8G"), get_format("ETL8B2")
    needed = layouts_bytes(len(records), etl8g.record_size if fmt.name == "ETL8G" else 0)
    require_free_space(out_dir, needed, f"{len(records)} records in every layout")
    b_images = np.stack([b_type(raw, fmt.bits) for raw in records.images])
    with atomic_dir(out_dir, expected_bytes=needed) as tmp:
        tmp = Path(tmp)
        for name in ("ETL8G", "ETL8B2", *(f"pictures/{name}" for name in PICTURE_SETS)):
            (tmp / name).mkdir(parents=True)
        if fmt.name == "ETL8G":
            write_etl_file(tmp / "ETL8G" / "ETL8G_01", etl8g, records)
        write_etl_file(
            tmp / "ETL8B2" / "ETL8B2C1", etl8b2, build_records(etl8b2, records.codes, records.writers, b_images)
        )
        top = float((1 << fmt.bits) - 1)
        rows = []
        for i, (raw, b_image, char, writer, code) in enumerate(
            zip(records.images, b_images, records.chars, records.writers.tolist(), records.codes.tolist(),
                strict=True)
        ):
            file = f"{i:05d}.png"
            Image.fromarray(((1 - b_image) * 255).astype(np.uint8)).save(tmp / "pictures" / "b64" / file)
            grey = np.rint(255.0 * (1.0 - raw.astype(np.float32) / top)).astype(np.uint8)
            Image.fromarray(grey).save(tmp / "pictures" / "g128" / file)
            # a record's dust from its writer and character: the same specks whichever writers are chosen
            dust = dusty(grey, np.random.default_rng([DUST_SEED, int(writer), int(code)]))
            Image.fromarray(dust).save(tmp / "pictures" / "dust128" / file)
            box = ruled(grey, np.random.default_rng([RULED_SEED, int(writer), int(code)]))
            Image.fromarray(box).save(tmp / "pictures" / "ruled128" / file)
            rows.append((file, char, writer))
        with open(tmp / "pictures" / LABELS_FILE, "w", newline="", encoding="utf-8") as handle:
            table = csv.writer(handle)
            table.writerow(("file", "char", "writer"))
            table.writerows(rows)
    summary = {"out": str(out_dir), "records": len(records), "writers": int(np.unique(records.writers).size)}
    log.info("relayout: %d records of %d writers from %s -> %s", summary["records"], summary["writers"], etl_dir,
             out_dir)
    return summary


def layouts_bytes(records: int, etl8g_record: int) -> int:
    """The disk the layouts of ``records`` take: their ETL8G (``etl8g_record`` bytes each, 0 when not
    written) and ETL8B2 records, four pictures (a few kB of PNG each: a file-system block for the 64 x 63
    one, two for each 128 x 127 one) and a label row, with a margin."""
    return estimate(records, etl8g_record + get_format("ETL8B2").record_size + 7 * FILE_BLOCK + 40)


def read_picture_labels(pictures_dir: str | os.PathLike) -> list[tuple[str, str, int]]:
    """(file, char, writer) rows of a layout's ``pictures/labels.csv``."""
    path = Path(pictures_dir) / LABELS_FILE
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [(row["file"], row["char"], int(row["writer"])) for row in rows]
    except (OSError, KeyError, ValueError) as exc:
        raise NetaError(f"{path}: not a picture label table ({exc}); rerun `neta etl relayout`") from exc
