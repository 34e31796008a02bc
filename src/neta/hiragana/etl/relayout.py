"""Test writers in every layout the readers accept, for proxies of real test sets.

A real test of the recognizer may come as ETL8G records (4-bit 128 x 127 cells with a margin), as
AIST's ETL8B2 records (1 bit, 64 x 63, binarised and size-normalised so that the character fills
the cell edge to edge) or as ordinary pictures. :func:`write_layouts` writes the same characters in
all of them, so the evaluation can score one writer set through ``neta hiragana eval`` in each ETL
layout and through ``neta hiragana predict`` as pictures, and show whether the paths agree:

``ETL8G/ETL8G_01``      the records as they are
``ETL8B2/ETL8B2C1``     binarised as AIST made its B-type files and stretched to fill 64 x 63
``pictures/b64/*.png``  the ETL8B2 images as black-on-white pictures (64 x 63)
``pictures/g128/*.png`` the ETL8G cells as grey pictures, paper white (128 x 127)
``pictures/g64/*.png``  the same shrunk to 64 x 63 by area averaging, as a set of small pictures of
                        G-type records comes: the character some 40 pixels high, a thin stroke grey
``pictures/dust128/*.png`` the same with one to three specks of dust in the margin, as a scanner with
                        dust on its glass writes them (pen-sized dark dots, away from the ink)
``pictures/ruled128/*.png`` the grey ones as crops of a box on a ruled sheet that kept the box's line
                        along one side or two sides meeting at a corner (a sheet scanned a little turned)
``pictures/neighbour128/*.png`` the grey ones as loose crops of a line of writing: the last few pixels
                        of a neighbouring character (another of the writer's) enter at the left or right
``pictures/labels.csv`` ``file,char,writer`` of every record; the scan sets (dust, ruled, neighbour)
                        hold every other record's picture (:data:`SCAN_EVERY`)
``SYNTH_WRITERS.csv``   the synthetic writers' families and fonts, copied when the records come with it

Like the synthetic files they come from, these are SYNTHETIC writers, not real handwriting.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

from neta.atomic import atomic_dir
from neta.diskspace import FILE_BLOCK, estimate, require_free_space
from neta.errors import NetaError
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import HIRAGANA_75
from neta.hiragana.etl.reader import read_etl_dir
from neta.hiragana.etl.writer import build_records, write_etl_file
from neta.hiragana.etl.writers_table import WRITERS_TABLE
from neta.hiragana.normalise import record_grey

log = logging.getLogger(__name__)

PICTURE_SETS = ("b64", "g128", "g64", "dust128", "ruled128", "neighbour128")
# the scan sets (dust, ruled lines, neighbours) picture every other record: each writer the classes of
# one parity of writer id plus code, so every class of every writer set, at half the evaluation's time
SCAN_SETS = ("dust128", "ruled128", "neighbour128")
SCAN_EVERY = 2
DUST_SPECKS = (1, 3)  # specks a dusty picture gets, fewest and most
DUST_CLEARANCE = 6  # pixels a speck keeps from the ink's box
DUST_SEED = 1 << 23  # seed stream of the dust, apart from every writer's
RULED_SEED = 1 << 24  # ... and of the ruled lines
NEIGHBOUR_SEED = 1 << 25  # ... and of the neighbours
NEIGHBOUR_REACH = (4, 16)  # columns of its neighbour's ink a loose crop keeps, fewest and most
NEIGHBOUR_INK = 200  # a grey picture's pixel darker than this is ink, to find the neighbour's edge
LABELS_FILE = "labels.csv"
# AIST made ETL9B from ETL9G with the threshold T = λ h + (1 - λ) μ, h Otsu's threshold of a record and
# μ its mean level, λ = 0.4 (the ETL9 page of etlcdb.db.aist.go.jp); ETL8B2 is made from ETL8G's
# records the same way, its page giving no rule of its own. μ lies near the paper, so T sits below
# Otsu's: strokes come out full and a faint pencil's are not broken.
BINARY_OTSU_SHARE = 0.4
SPECK = 4  # pixels: paper noise at most this large sets no box (a B-type character fills its cell)


def binarise(raw: np.ndarray, bits: int) -> np.ndarray:
    """(H, W) levels -> bool ink mask by AIST's rule for its B-type files (see BINARY_OTSU_SHARE)."""
    levels = raw.astype(np.float32)
    if float(levels.max()) <= float(levels.min()):
        return np.zeros(levels.shape, bool)
    mixed = BINARY_OTSU_SHARE * threshold_otsu(levels) + (1.0 - BINARY_OTSU_SHARE) * float(levels.mean())
    return levels > mixed


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


def neighboured(grey: np.ndarray, neighbour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey picture (paper 255) as a loose crop from a line of writing: the last few columns of ink
    of ``neighbour`` (another character of the writer, a grey picture of the same size) enter at the
    left or right edge, as the character before or after it."""
    columns = np.flatnonzero((neighbour < NEIGHBOUR_INK).any(axis=0))
    if not columns.size:
        return grey.copy()
    reach = int(rng.integers(NEIGHBOUR_REACH[0], NEIGHBOUR_REACH[1] + 1))
    width = grey.shape[1]
    shift = reach - (columns[-1] + 1) if rng.random() < 0.5 else width - reach - columns[0]
    moved = np.full_like(neighbour, 255)
    if shift >= 0:
        moved[:, shift:] = neighbour[:, : width - shift]
    else:
        moved[:, : width + shift] = neighbour[:, -shift:]
    return np.minimum(grey, moved)


def b_type(raw: np.ndarray, bits: int, *, width: int = 64, height: int = 63) -> np.ndarray:
    """One record as an ETL8B-style image: (height, width) uint8 0/1, the ink's box stretched to fill it."""
    mask = binarise(raw, bits)
    if not mask.any():
        return np.zeros((height, width), np.uint8)
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    body = (sizes > SPECK)[labels] if sizes.max() > SPECK else mask  # the box of the writing, not of the noise
    rows, cols = np.flatnonzero(body.any(axis=1)), np.flatnonzero(body.any(axis=0))
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    stretched = np.asarray(Image.fromarray(crop).resize((width, height), Image.BILINEAR), dtype=np.float32)
    return (stretched >= 0.5).astype(np.uint8)


def shrunk(grey: np.ndarray, *, width: int = 64, height: int = 63) -> np.ndarray:
    """A grey picture (uint8) reduced to ``width`` x ``height`` by area averaging."""
    return np.asarray(Image.fromarray(grey).resize((width, height), Image.BOX))


def _save(picture: np.ndarray, path: Path) -> None:
    # the fastest zlib level: these PNGs are read once, and writing them took most of the relayout
    Image.fromarray(picture).save(path, compress_level=1)


def write_layouts(
    etl_dir: str | os.PathLike, fmt_name: str, out_dir: str | os.PathLike, *, writers=None,
    scan_every: int = SCAN_EVERY,
) -> dict:
    """Write the hiragana records of ``writers`` (all when None) in ``etl_dir`` in every layout above;
    the scan sets picture the records whose writer id plus code is a multiple of ``scan_every``."""
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
        rows = []
        greys = np.rint(255.0 * record_grey(records.images, fmt.bits)).astype(np.uint8)
        for i, (grey, b_image, char, writer, code) in enumerate(
            zip(greys, b_images, records.chars, records.writers.tolist(), records.codes.tolist(), strict=True)
        ):
            file = f"{i:05d}.png"
            _save(((1 - b_image) * 255).astype(np.uint8), tmp / "pictures" / "b64" / file)
            _save(grey, tmp / "pictures" / "g128" / file)
            _save(shrunk(grey), tmp / "pictures" / "g64" / file)
            rows.append((file, char, writer))
            if (int(writer) + int(code)) % scan_every:
                continue
            # a record's dust from its writer and character: the same specks whichever writers are chosen
            _save(dusty(grey, np.random.default_rng([DUST_SEED, int(writer), int(code)])),
                  tmp / "pictures" / "dust128" / file)
            _save(ruled(grey, np.random.default_rng([RULED_SEED, int(writer), int(code)])),
                  tmp / "pictures" / "ruled128" / file)
            # the neighbour: another of the writer's characters, the same whichever writers are chosen
            pick = np.random.default_rng([NEIGHBOUR_SEED, int(writer), int(code)])
            same = np.flatnonzero((records.writers == writer) & (records.codes != code))
            neighbour = greys[same[int(pick.integers(same.size))]] if same.size else np.full_like(grey, 255)
            _save(neighboured(grey, neighbour, pick), tmp / "pictures" / "neighbour128" / file)
        with open(tmp / "pictures" / LABELS_FILE, "w", newline="", encoding="utf-8") as handle:
            table = csv.writer(handle)
            table.writerow(("file", "char", "writer"))
            table.writerows(rows)
        if (Path(etl_dir) / WRITERS_TABLE).is_file():  # the hands, so a score can be broken down by them
            shutil.copyfile(Path(etl_dir) / WRITERS_TABLE, tmp / WRITERS_TABLE)
    summary = {"out": str(out_dir), "records": len(records), "writers": int(np.unique(records.writers).size)}
    log.info("relayout: %d records of %d writers from %s -> %s", summary["records"], summary["writers"], etl_dir,
             out_dir)
    return summary


def layouts_bytes(records: int, etl8g_record: int) -> int:
    """The disk the layouts of ``records`` take: their ETL8G (``etl8g_record`` bytes each, 0 when not
    written) and ETL8B2 records, six pictures (a few kB of PNG each: a file-system block for each 64 x 63
    one, two for each 128 x 127 one) and a label row, with a margin."""
    return estimate(records, etl8g_record + get_format("ETL8B2").record_size + 10 * FILE_BLOCK + 40)


def read_picture_labels(pictures_dir: str | os.PathLike) -> list[tuple[str, str, int]]:
    """(file, char, writer) rows of a layout's ``pictures/labels.csv``."""
    path = Path(pictures_dir) / LABELS_FILE
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [(row["file"], row["char"], int(row["writer"])) for row in rows]
    except (OSError, KeyError, ValueError) as exc:
        raise NetaError(f"{path}: not a picture label table ({exc}); rerun `neta etl relayout`") from exc
