"""The one caption table every dataset becomes (``captions.csv``), and what training and metrics take of it.

Columns (``CAPTION_COLUMNS``): ``image_id`` the sha256 of the photo file (the id in ``features.h5``),
``caption`` the original text, ``tokens`` its tokens joined by single spaces, ``stars`` a number
(bokete stars, a can's rate_sum, an Oogiri-GO answer's star, 0 for COCO), ``split`` train | val | test,
the same for every caption of a photo, and ``path`` the photo file relative to the folder of the table.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from neta.atomic import write_csv
from neta.errors import NetaError
from neta.tables import read_table

log = logging.getLogger(__name__)

CAPTION_COLUMNS = ("image_id", "caption", "tokens", "stars", "split", "path")
SPLITS = ("train", "val", "test")
MADE_BY = "the caption preparation stage (`neta captioner prepare`)"


def read_captions(path: str | os.PathLike) -> pd.DataFrame:
    """The caption table at ``path``: text columns as str ("" for no tokens), ``stars`` numeric."""
    frame = read_table(path, CAPTION_COLUMNS, MADE_BY)[list(CAPTION_COLUMNS)]
    stars = pd.to_numeric(frame["stars"], errors="coerce")
    if stars.isna().any():
        bad = frame.loc[stars.isna(), "stars"].iloc[0]
        raise NetaError(f"{path}: stars {bad!r} is not a number; rerun {MADE_BY}")
    unknown = sorted(set(frame["split"]) - set(SPLITS))
    if unknown:
        raise NetaError(f"{path}: split values {unknown} (expected {', '.join(SPLITS)}); rerun {MADE_BY}")
    if (frame["image_id"] == "").any():
        raise NetaError(f"{path}: rows without an image_id; rerun {MADE_BY}")
    return frame.assign(stars=stars)


def write_captions(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write ``frame`` as the caption table (UTF-8 CSV, ``CAPTION_COLUMNS`` in order), atomically."""
    missing = [column for column in CAPTION_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"caption table without columns {missing}")
    write_csv(path, frame[list(CAPTION_COLUMNS)])


def token_counts(frame: pd.DataFrame) -> pd.Series:
    return frame["tokens"].fillna("").str.split().str.len()


def usable(frame: pd.DataFrame, *, max_len: int) -> tuple[pd.DataFrame, dict]:
    """The rows with 1..``max_len`` tokens, and how many were dropped: ``{"empty": n, "too_long": m}``."""
    n_tokens = token_counts(frame)
    empty = n_tokens == 0
    too_long = n_tokens > max_len
    counts = {"empty": int(empty.sum()), "too_long": int(too_long.sum())}
    if counts["empty"] or counts["too_long"]:
        log.info("captions: dropped %d with no tokens and %d with more than max_len %d tokens; %d of %d kept",
                 counts["empty"], counts["too_long"], max_len, int((~empty & ~too_long).sum()), len(frame))
    return frame[~empty & ~too_long].reset_index(drop=True), counts


def training_pairs(frame: pd.DataFrame, *, pairing: str, top_k: int) -> pd.DataFrame:
    """The train rows a photo contributes: ``all``, its ``top1`` or ``topk`` (``top_k``) captions by stars
    (captioner.pairing and captioner.top_k).

    Ties in stars go to the caption earlier in the table; rows stay in table order.
    """
    train = frame[frame["split"] == "train"]
    if pairing == "all":
        return train.reset_index(drop=True)
    keep = 1 if pairing == "top1" else top_k
    # A stable sort keeps table order among equal stars, so head() takes the earliest of a tie.
    ranked = train.sort_values("stars", ascending=False, kind="stable")
    return ranked.groupby("image_id", sort=False).head(keep).sort_index().reset_index(drop=True)


def references(frame: pd.DataFrame, split: str) -> dict[str, list[list[str]]]:
    """image_id -> the token lists of every caption of that photo, for the photos of ``split``."""
    if split not in SPLITS:
        raise NetaError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    refs: dict[str, list[list[str]]] = {}
    rows = frame[frame["split"] == split]
    for image_id, tokens in zip(rows["image_id"], rows["tokens"].fillna(""), strict=True):
        refs.setdefault(image_id, []).append(tokens.split())
    return refs


STAR_WEIGHTINGS = ("none", "log", "threshold")


def star_weights(frame: pd.DataFrame, how: str) -> np.ndarray | None:
    """How much each caption of ``frame`` counts in training by its stars (the Neural Joking Machine's
    "funny score"): ``none`` all alike (None); ``log`` 1 + log(1 + stars), scaled to a mean of 1;
    ``threshold`` 1 for the bokes at or above their photo's median stars, 0 for the rest. Captions with
    no stars (datasets that have none) count as 0 stars."""
    if how == "none":
        return None
    stars = pd.to_numeric(frame["stars"], errors="coerce").fillna(0).clip(lower=0).to_numpy(dtype=np.float64)
    if how == "log":
        weights = 1.0 + np.log1p(stars)
        return (weights / weights.mean()).astype(np.float32) if len(weights) else weights.astype(np.float32)
    median = pd.Series(stars, index=frame.index).groupby(frame["image_id"]).transform("median").to_numpy()
    return (stars >= median).astype(np.float32)
