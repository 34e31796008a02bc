"""prepare_captions: one dataset (bokete, boke cans, COCO, Karpathy, Oogiri-GO) into the caption table.

Splits are drawn by photo, never by caption, so no held-out photo is seen in training.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from neta.atomic import write_csv
from neta.boke.config import CocoSettings, KarpathySettings, OogiriGoSettings, SplitSettings
from neta.boke.photos import resolve_photos
from neta.boke.sources.bokete import read_bokete, read_cans
from neta.boke.sources.coco import read_coco, read_karpathy
from neta.boke.sources.oogiri import read_oogiri_go
from neta.boke.table import SPLITS, write_captions
from neta.boke.tokens import Tokenizer, resolve_language
from neta.errors import NetaError
from neta.images import ImageLimits

log = logging.getLogger(__name__)


def split_photos(image_ids: Iterable[str], *, split: SplitSettings, seed: int) -> dict[str, str]:
    """image_id -> train | val | test, drawn with ``seed``, ``split`` the fractions of photos held out.

    The ids are sorted first, so the split depends on which photos there are, not on row order. A
    fraction above 0 gives at least one photo; at least one photo stays in train.
    """
    val_fraction, test_fraction = split.val_fraction, split.test_fraction
    photos = sorted(set(image_ids))
    n = len(photos)
    n_test, n_val = (max(1, round(n * f)) if f > 0 else 0 for f in (test_fraction, val_fraction))
    if n_test + n_val >= n:
        raise NetaError(f"captions: {n} photos are too few for val_fraction {val_fraction} and test_fraction "
                        f"{test_fraction} ({n_val} val + {n_test} test would leave no training photo)")
    order = np.random.default_rng(seed).permutation(n)
    splits = {}
    for rank, index in enumerate(order):
        splits[photos[index]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def _own_split(frame: pd.DataFrame) -> dict[str, str]:
    """image_id -> the split the dataset gives; a photo listed twice keeps its first split."""
    splits = dict(zip(frame["image_id"][::-1], frame["split"][::-1], strict=True))
    conflicts = frame.groupby("image_id")["split"].nunique().gt(1).sum()
    if conflicts:
        log.warning("%d photos are in two splits of the dataset (one file listed twice); each kept in its first",
                    conflicts)
    return splits


def prepare_captions(dataset: str, out_csv: str | os.PathLike, *, manifest_out: str | os.PathLike | None = None,
                     bokes_csv=None, bokete_manifest=None, cans=(), coco: CocoSettings | None = None,
                     karpathy: KarpathySettings | None = None, oogiri_go: OogiriGoSettings | None = None,
                     language: str, split: SplitSettings, seed: int, max_images: int, max_missing_ratio: float,
                     limits: ImageLimits | None = None) -> dict:
    """Write the caption table ``out_csv`` (and, for the datasets on disk, ``manifest_out``); return counts.

    ``dataset`` bokete reads ``bokes_csv`` and ``bokete_manifest``, bokete_can the ``cans``, coco, karpathy
    and oogiri_go the files of the ``coco``, ``karpathy`` and ``oogiri_go`` sections. ``split``: the
    held-out fractions, for a dataset without its own split. ``limits``: the images section, for the
    photos of the datasets on disk.
    """
    started = time.perf_counter()
    language = resolve_language(dataset, language)
    tokenize = Tokenizer(language)
    if dataset == "bokete":
        if bokes_csv is None or bokete_manifest is None:
            raise NetaError("captions: dataset bokete needs bokes.csv and the image download manifest")
        frame, counts = read_bokete(bokes_csv, bokete_manifest, tokenize=tokenize, max_images=max_images)
        manifest = None
    else:
        if manifest_out is None or limits is None:
            raise NetaError(f"captions: dataset {dataset} needs manifest_out (the photos for the features stage) "
                            "and the images section's limits")
        frame, counts, source = _read_files(dataset, tokenize=tokenize, max_images=max_images, cans=cans, coco=coco,
                                            karpathy=karpathy, oogiri_go=oogiri_go)
        frame, manifest, photo_counts = resolve_photos(frame, manifest_out=manifest_out,
                                                       max_missing_ratio=max_missing_ratio, source=source,
                                                       limits=limits)
        counts.update(photo_counts)

    own = bool((frame["split"] != "").all())
    splits = (_own_split(frame) if own else
              split_photos(frame["image_id"], split=split, seed=seed))
    out_dir = os.path.abspath(Path(out_csv).parent)
    frame = frame.assign(split=frame["image_id"].map(splits),
                         path=[Path(os.path.relpath(photo, out_dir)).as_posix() for photo in frame["photo"]])
    if manifest is not None:
        write_csv(manifest_out, manifest)
    write_captions(out_csv, frame)

    photo_split = pd.Series(splits)
    summary = {
        "dataset": dataset, "language": language, **counts, "captions": len(frame),
        "photos": int(frame["image_id"].nunique()), "split_source": "dataset" if own else "seeded",
        "split_photos": {s: int((photo_split == s).sum()) for s in SPLITS},
        "split_captions": {s: int((frame["split"] == s).sum()) for s in SPLITS},
        "captions_csv": str(out_csv), "manifest": None if manifest is None else str(manifest_out),
        "seconds": round(time.perf_counter() - started, 3),
    }
    for split in SPLITS:
        if not summary["split_photos"][split]:
            log.warning("captions: no %s photos", split)
    log.info("captions: %s, %d captions of %d photos (splits by photo %s: %s) in %.1f s; wrote %s%s", dataset,
             summary["captions"], summary["photos"], summary["split_source"], summary["split_photos"],
             summary["seconds"], out_csv, f" and {manifest_out}" if summary["manifest"] else "")
    return summary


def _read_files(dataset: str, *, tokenize, max_images: int, cans, coco: CocoSettings | None,
                karpathy: KarpathySettings | None,
                oogiri_go: OogiriGoSettings | None) -> tuple[pd.DataFrame, dict, str]:
    """The captions of a dataset on disk (rows with ``photo`` paths not checked yet), and what to call it."""
    if dataset == "bokete_can":
        frame, counts = read_cans(cans, tokenize=tokenize, max_images=max_images)
        return frame, counts, f"cans {', '.join(map(str, cans))}"
    if dataset == "coco":
        if coco is None or not coco.images:
            raise NetaError("captioner.coco.images: no folder of COCO images given")
        frame, counts = read_coco(coco.annotations, coco.images, tokenize=tokenize, max_images=max_images)
        return frame, counts, ", ".join(map(str, coco.annotations))
    if dataset == "oogiri_go":
        if oogiri_go is None or not oogiri_go.file or not oogiri_go.images:
            raise NetaError("captioner.oogiri_go: file and images must both be given")
        frame, counts = read_oogiri_go(oogiri_go.file, oogiri_go.images, types=oogiri_go.types,
                                       min_star=oogiri_go.min_star, tokenize=tokenize, max_images=max_images)
        return frame, counts, str(oogiri_go.file)
    if karpathy is None or not karpathy.file or not karpathy.images:
        raise NetaError("captioner.karpathy: file and images must both be given")
    frame, counts = read_karpathy(karpathy.file, karpathy.images, tokenize=tokenize, max_images=max_images)
    return frame, counts, str(karpathy.file)
