"""Benchmark: the caption preparation stage on a boke can the size of the public ones (1.1 M bokes),
against a bare pandas read of the same file, each in its own process, same run.

Run from the repository root:  .venv/bin/python benchmarks/boke_can_scale.py [--rows 1100000]

The can is SYNTHETIC, written here: ``boke.csv`` with the public cans' columns, its texts drawn from
the bokes of neta's offline snapshot (209 texts, so rows repeat), its 19 photos (the sample photos
inside the scikit-image and scikit-learn wheels, saved as JPEGs) that ``odai_photo_url`` names again
and again. What is timed is the text side of ``prepare_captions`` with ``captioner.dataset:
bokete_can`` as the workflow runs it: read the CSV in chunks, MeCab-tokenise every boke, resolve and
check the photos, split by photo, write the caption table and the photo manifest. Peak RSS is each
child process's own (``getrusage``).

* stage: ``neta.boke.prepare.prepare_captions("bokete_can", ...)``;
* anchor: ``pandas.read_csv`` of the whole file at once, nothing else.

Floors (issue: a can of 1.1 M rows streams): peak RSS <= 2 GB and <= 3 minutes on 2 cores.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from neta.boke.sources.bokete import CAN_COLUMNS  # noqa: E402

STAGE = """
import json, sys, time
sys.path.insert(0, {src!r})
from neta.boke.config import SplitSettings
from neta.boke.prepare import prepare_captions
from neta.images import ImageLimits
from neta.settings import validate_config
started = time.perf_counter()
summary = prepare_captions("bokete_can", {out!r}, manifest_out={manifest!r}, cans=[{can!r}], language="ja",
                           split=SplitSettings(val_fraction=0.1, test_fraction=0.2), seed=0, max_images=0,
                           max_missing_ratio=0.1, limits=ImageLimits.of(validate_config({{}})))
import resource
print(json.dumps({{"seconds": time.perf_counter() - started, "captions": summary["captions"],
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""

ANCHOR = """
import json, time
import pandas as pd
started = time.perf_counter()
frame = pd.read_csv({table!r}, dtype=str, keep_default_na=False)
import resource
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": len(frame),
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def write_can(folder: Path, rows: int) -> Path:
    from neta.boke.snapshot.build import load_bokete_data, load_photo

    images = folder / "images"
    images.mkdir(parents=True)
    snapshot = load_bokete_data()
    names = []
    for photo in snapshot["photos"]:  # the sample photos inside the scikit-image and scikit-learn wheels
        names.append(f"{photo['key']}.jpg")
        load_photo(photo["source"]).save(images / names[-1], quality=85)
    texts = np.array([boke["text"] for photo in snapshot["photos"] for boke in photo["bokes"]])
    rng = np.random.default_rng(0)
    table = folder / "boke.csv"
    chunk = 100_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        photo = rng.integers(0, len(names), n)
        frame = pd.DataFrame({
            "id": np.arange(start, start + n), "odai_id": photo, "odai_photo_id": photo,
            "odai_photo_url": [f"https://example.invalid/photo/{names[i]}" for i in photo],
            "odai_user_id": 1, "odai_photo_by": "", "boke_user_id": rng.integers(0, 50_000, n),
            "text": texts[rng.integers(0, len(texts), n)], "category": "", "posted_at": "2016-01-01",
            "rate_sum": rng.integers(0, 200, n), "rate_count": 0, "labels": ""})
        frame[list(CAN_COLUMNS)].to_csv(table, mode="a" if start else "w", header=not start, index=False)
    return table


def run_child(code: str) -> tuple[dict, float]:
    """Run ``code`` in a fresh interpreter; its printed figures and its own peak RSS in MB."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"child failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures, figures["peak_kb"] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        can = Path(tmp) / "blue_000"
        started = time.perf_counter()
        table = write_can(can, args.rows)
        print(f"wrote a synthetic can of {args.rows:,} bokes ({table.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s (untimed)")
        anchor, anchor_mb = run_child(ANCHOR.format(table=str(table)))
        stage, stage_mb = run_child(STAGE.format(src=str(REPO / "src"), out=str(Path(tmp) / "captions.csv"),
                                                 manifest=str(Path(tmp) / "manifest.csv"), can=str(can)))
    rows_per_s = args.rows / stage["seconds"]
    anchor_rows_per_s = args.rows / anchor["seconds"]
    print(f"stage  prepare_captions bokete_can: {stage['seconds']:.1f} s, {rows_per_s:,.0f} rows/s, "
          f"peak RSS {stage_mb:,.0f} MB, {stage['captions']:,} captions written")
    print(f"anchor pandas.read_csv, whole file: {anchor['seconds']:.1f} s, {anchor_rows_per_s:,.0f} rows/s, "
          f"peak RSS {anchor_mb:,.0f} MB (reads only)")
    print(f"ratio: the stage runs at {rows_per_s / anchor_rows_per_s:.3f} x the bare read's rows/s")
    print(json.dumps({"bench": "boke_can_scale", "rows": args.rows, "seconds": round(stage["seconds"], 1),
                      "rows_per_s": round(rows_per_s), "peak_rss_mb": round(stage_mb),
                      "anchor_seconds": round(anchor["seconds"], 1), "anchor_rows_per_s": round(anchor_rows_per_s),
                      "anchor_peak_rss_mb": round(anchor_mb),
                      "ratio": round(rows_per_s / anchor_rows_per_s, 3)}))


if __name__ == "__main__":
    main()
