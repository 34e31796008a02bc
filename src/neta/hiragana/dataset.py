"""Read one split of ``etl_28.h5`` (written by ``neta etl convert``) as model-ready arrays."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from neta.errors import NetaError
from neta.h5io import read_h5

TRAIN, TEST = 0, 1
SPLIT_CODES = {"train": TRAIN, "test": TEST}


@dataclass(frozen=True)
class EtlSplit:
    images: np.ndarray  # (N, S, S) uint8, ink high
    labels: np.ndarray  # (N,) int64 index into classes
    writers: np.ndarray  # (N,)
    classes: list[str]
    all_writers_by_split: dict[str, set]  # writer ids of every split, to check they are disjoint
    normalise: str  # how the records were normalised (hiragana.normalise); files before it: "cell"

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])


def load_etl_split(path: str | os.PathLike, split: str) -> EtlSplit:
    """The ``split`` ("train" or "test") rows of ``path``, checked for the shapes the models expect."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    data, attrs = read_h5(path, ["images", "labels", "writers", "classes", "split"])
    images, labels, writers, classes, splits = (
        data["images"], data["labels"], data["writers"], data["classes"], data["split"]
    )
    fix = "rerun `neta etl convert` to rebuild it"
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.dtype != np.uint8:
        raise NetaError(f"{path}: /images must be (N, S, S) uint8, got {images.shape} {images.dtype}; {fix}")
    n = images.shape[0]
    for name, array in (("labels", labels), ("writers", writers), ("split", splits)):
        if array.shape != (n,):
            raise NetaError(f"{path}: /{name} has shape {array.shape}, expected ({n},) like /images; {fix}")
    if classes.ndim != 1 or classes.size == 0:
        raise NetaError(f"{path}: /classes must be a non-empty list of characters; {fix}")
    if n and (labels.min() < 0 or labels.max() >= classes.size):
        raise NetaError(
            f"{path}: /labels must index /classes (0..{classes.size - 1}), "
            f"found {labels.min()}..{labels.max()}; {fix}"
        )
    unknown_split = sorted(set(np.unique(splits).tolist()) - set(SPLIT_CODES.values()))
    if unknown_split:
        raise NetaError(f"{path}: /split holds {unknown_split}; only 0 (train) and 1 (test) are known; {fix}")
    mask = splits == SPLIT_CODES[split]
    if not mask.any():
        raise NetaError(f"{path}: the {split} split is empty; {fix} with more writers")
    return EtlSplit(
        images=images[mask],
        labels=labels[mask].astype(np.int64),
        writers=writers[mask],
        classes=[str(c) for c in classes],
        all_writers_by_split={
            name: set(np.unique(writers[splits == code]).tolist()) for name, code in SPLIT_CODES.items()
        },
        normalise=str(attrs.get("normalise", "cell")),
    )


def to_float_batch(images_uint8: np.ndarray):
    """uint8 ``(N, S, S)`` -> float tensor ``(N, 1, S, S)`` in [0, 1], as both models expect."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images_uint8)).unsqueeze(1).float().div_(255.0)
