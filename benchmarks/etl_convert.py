"""Benchmark: convert_etl on an ETL8G-sized set against the naive per-record reader, same run.

Run from the repository root:  .venv/bin/python benchmarks/etl_convert.py [--naive-files N]

The data set has the real ETL8G shape: 33 files, 32 x 4,780 + 956 = 153,916 records of 8,199 bytes
(1.26 GB) in a temporary directory. It is SYNTHETIC: one file of 5 synthetic writers is made with
neta.hiragana.etl.synth and copied to 33 files with new writer numbers (untimed; images repeat, which does
not matter for timing).

Measured, all with the files in the page cache (they were just written):

* convert_etl — the whole stage: memory-map every file, select the 71 hiragana by code, unpack
  and area-average only those images, split by writer, write the HDF5 (including hashing every
  input file for provenance).
* naive — the common ETL8G reader: per record ``f.read`` + ``struct.unpack`` +
  ``PIL.Image.frombytes(..., 'bit', 4)`` + a PIL BOX resize to 28 x 28, keeping the hiragana. It is
  timed on the first ``--naive-files`` files and its records/s extrapolated (it is linear in the
  number of records).
* vectorised full decode — for an apples-to-apples view of the vectorisation alone: decode and
  area-average *every* record with neta's reader, as the naive reader does.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.hiragana.etl.convert import convert_etl  # noqa: E402
from neta.hiragana.etl.formats import get_format  # noqa: E402
from neta.hiragana.etl.jis import HIRAGANA_71, char_to_jis0208  # noqa: E402
from neta.hiragana.etl.reader import read_etl_dir, read_etl_file  # noqa: E402
from neta.hiragana.etl.synth import synth_etl  # noqa: E402
from neta.hiragana.normalise import normalise_records, preprocess  # noqa: E402

FILES, WRITERS_PER_FILE, PER_WRITER = 33, 5, 956
RECORDS = (FILES - 1) * WRITERS_PER_FILE * PER_WRITER + PER_WRITER  # 153,916


def build_set(root: Path) -> Path:
    fmt = get_format("ETL8G")
    seed_dir = root / "seed"
    synth_etl(seed_dir, fmt="ETL8G", writers=WRITERS_PER_FILE, seed=0)
    base = np.fromfile(seed_dir / "ETL8G_01", dtype=fmt.dtype)
    data = root / "ETL8G"
    data.mkdir()
    for f in range(FILES):
        block = base.copy() if f < FILES - 1 else base[:PER_WRITER].copy()
        block["sheet"] = block["sheet"] + f * WRITERS_PER_FILE
        block["serial"] = np.arange(len(block)) + 1 + f * WRITERS_PER_FILE * PER_WRITER
        block.tofile(data / f"ETL8G_{f + 1:02d}")
    shutil.rmtree(seed_dir)
    return data


def naive_convert(files: list[Path]) -> tuple[int, list[np.ndarray]]:
    """The per-record reader most ETL8G code uses: struct + PIL decode + PIL resize, record by record."""
    wanted = {char_to_jis0208(c) for c in HIRAGANA_71}
    layout = struct.Struct(">2H8sI4B4H2B30x8128s11x")
    kept, count = [], 0
    for path in files:
        with open(path, "rb") as handle:
            while chunk := handle.read(layout.size):
                fields = layout.unpack(chunk)
                image = Image.frombytes("F", (128, 127), fields[14], "bit", 4)
                small = image.resize((28, 28), Image.BOX)
                count += 1
                if fields[1] in wanted:
                    kept.append(np.clip(np.asarray(small) * 17.0, 0, 255).astype(np.uint8))
    return count, kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-files", type=int, default=4, help="files the naive reader is timed on")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    root = Path(tempfile.mkdtemp(prefix="neta-bench-etl-"))
    try:
        print(f"building a SYNTHETIC ETL8G-sized set in {root} (untimed) ...", flush=True)
        t = time.perf_counter()
        data = build_set(root)
        files = sorted(data.iterdir())
        size_gb = sum(p.stat().st_size for p in files) / 1e9
        print(f"  {len(files)} files, {RECORDS:,} records, {size_gb:.2f} GB, built in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        summary = convert_etl(data, "ETL8G", root / "etl_28.h5", size=28, classes=71, test_fraction=0.2, seed=0,
                              normalise="cell")
        seconds = time.perf_counter() - t
        rate = RECORDS / seconds
        print(
            f"convert_etl (whole stage): {RECORDS:,} records in {seconds:.2f} s = {rate:,.0f} records/s "
            f"({summary['records']:,} hiragana kept, HDF5 written, inputs hashed)"
        )

        naive_files = files[: args.naive_files]
        t = time.perf_counter()
        naive_count, naive_kept = naive_convert(naive_files)
        naive_seconds = time.perf_counter() - t
        naive_rate = naive_count / naive_seconds
        print(
            f"naive per-record reader: {naive_count:,} records ({len(naive_files)} of {len(files)} files) in "
            f"{naive_seconds:.2f} s = {naive_rate:,.0f} records/s; extrapolated to the whole set: "
            f"{RECORDS / naive_rate:.1f} s (it does not even write the HDF5)"
        )

        fmt = get_format("ETL8G")
        t = time.perf_counter()
        everything = read_etl_dir(data, fmt, None)
        full = preprocess(everything.images, fmt.bits, size=28)
        full_seconds = time.perf_counter() - t
        full_rate = len(full) / full_seconds
        del everything, full
        print(
            f"vectorised full decode (every record unpacked + area-averaged, no selection): "
            f"{RECORDS:,} records in {full_seconds:.2f} s = {full_rate:,.0f} records/s "
            f"= {full_rate / naive_rate:.1f}x the naive reader"
        )
        # The default normalisation (hiragana.normalise: ink_box) frames every kept record as a picture
        # is framed; it costs far more a record than the whole-cell resize timed above. Timed on the
        # hiragana of the first file with the stage's two workers, and the whole set extrapolated.
        first = read_etl_file(files[0], fmt)
        sample = first.take(np.flatnonzero(np.isin(first.chars, np.asarray(HIRAGANA_71))))
        t = time.perf_counter()
        normalise_records(sample.images, fmt.bits, 28, "ink_box", names=[str(i) for i in range(len(sample))],
                          workers=2)
        ink_rate = len(sample) / (time.perf_counter() - t)
        print(
            f"ink_box normalisation (2 workers): {ink_rate:,.0f} hiragana/s; the whole set's "
            f"{summary['records']:,} hiragana would add {summary['records'] / ink_rate:.1f} s to the stage"
        )
        speedup = rate / naive_rate
        print(
            f"speedup of convert_etl over the naive reader: {speedup:.1f}x (floor 5x); "
            f"whole set {seconds:.2f} s (limit 15 s)"
        )
        result = {
            "bench": "etl_convert",
            "records": RECORDS,
            "seconds": round(seconds, 3),
            "records_per_s": round(rate),
            "naive_records_per_s": round(naive_rate),
            "naive_files_timed": len(naive_files),
            "speedup": round(speedup, 2),
            "full_decode_records_per_s": round(full_rate),
            "full_decode_speedup": round(full_rate / naive_rate, 2),
            "ink_box_records_per_s": round(ink_rate),
        }
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
