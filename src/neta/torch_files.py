"""Loading a checkpoint file: plain tensors and values only, one error naming the file for every failure."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
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
        raise NetaError(f"{path}: not a readable {what}, the file is corrupt, truncated or not a checkpoint "
                        f"({_load_error(exc)}); delete it and retrain") from exc


def _load_error(exc: Exception) -> str:
    """The cause in torch's message, which runs to a paragraph: for weights-only unpickling the part after
    "WeightsUnpickler error:" (the rest advises weights_only=False, wrong for a damaged file), else its
    first sentence."""
    text = str(exc)
    unpickler = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:\n\n|$)", text, re.DOTALL)
    cause = unpickler[1] if unpickler else text.strip().split(". ", 1)[0]
    return f"{type(exc).__name__}: {' '.join(cause.split())[:300]}"


def load_tagged_checkpoint(path: str | os.PathLike, *, what: str, how_to_make: str, tag: tuple[str, int],
                           expected_file: str) -> dict:
    """A checkpoint that says what it is: its ``format`` and ``format_version`` must be ``tag``.

    ``expected_file`` names the file a user should point at instead of a foreign one.
    """
    checkpoint = load_checkpoint_file(path, what=what, how_to_make=how_to_make)
    fmt, version = tag
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != fmt:
        raise NetaError(f"{path}: not a neta {what} (no format {fmt!r}); point at {expected_file}")
    if checkpoint.get("format_version") != version:
        raise NetaError(f"{path}: {what} version {checkpoint.get('format_version')!r}, this neta reads {version}; "
                        "retrain it")
    return checkpoint


def plain_values(value, where: str):
    """``value`` as tensors and plain Python values only, so ``weights_only`` loading can read it back
    (numpy scalars and arrays, paths converted; anything else is a TypeError naming ``where``)."""
    if isinstance(value, torch.Tensor) or value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{where}: keys must be strings, got {bad[:3]}")
        return {k: plain_values(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_values(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: {type(value).__name__} cannot go into a weights-only checkpoint")
