"""model.pt for the hiragana recognizer: plain tensors, numbers, strings and lists only.

Nothing pickled beyond that, so ``torch.load(path, weights_only=True)`` opens it safely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from neta.errors import NetaError
from neta.models.hiragana import HiraganaCNN, SoftmaxRegression

REQUIRED_KEYS = ("cnn_state_dict", "baseline_state_dict", "arch", "classes", "size")


@dataclass
class LoadedModels:
    cnn: HiraganaCNN
    baseline: SoftmaxRegression
    classes: list[str]
    size: int
    checkpoint: dict


def read_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise NetaError(f"{path}: no such model file (run `neta hiragana train` first)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a truncated or foreign file
        raise NetaError(f"{path}: not a readable hiragana checkpoint ({exc}); delete it and retrain") from exc
    missing = [k for k in REQUIRED_KEYS if not isinstance(checkpoint, dict) or k not in checkpoint]
    if missing:
        raise NetaError(
            f"{path}: not a hiragana checkpoint (missing {missing}); retrain with `neta hiragana train`"
        )
    return checkpoint


def model_classes(path: str | os.PathLike) -> list[str]:
    """The characters the model at ``path`` was trained on, in label order."""
    return list(read_checkpoint(path)["classes"])


def load_models(path: str | os.PathLike, device: torch.device | str = "cpu") -> LoadedModels:
    checkpoint = read_checkpoint(path)
    arch = checkpoint["arch"]
    try:
        cnn = HiraganaCNN(**arch["cnn"])
        baseline = SoftmaxRegression(**arch["baseline"])
        cnn.load_state_dict(checkpoint["cnn_state_dict"])
        baseline.load_state_dict(checkpoint["baseline_state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise NetaError(f"{path}: weights do not match the stored architecture ({exc}); retrain") from exc
    cnn.to(device).eval()
    baseline.to(device).eval()
    return LoadedModels(cnn, baseline, list(checkpoint["classes"]), int(checkpoint["size"]), checkpoint)
