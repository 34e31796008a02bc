"""Loading a checkpoint file: plain tensors and values only, one error naming the file for every failure."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from neta.errors import NetaError


def load_checkpoint_file(path: str | os.PathLike, *, what: str, how_to_make: str) -> object:
    """``torch.load`` of ``path`` with ``weights_only=True`` (no pickled code runs), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise NetaError(f"{path}: no such {what} ({how_to_make})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a truncated or foreign file
        raise NetaError(f"{path}: not a readable {what} ({exc}); delete it and retrain") from exc
