"""Device, thread and seed set-up shared by every training and inference stage."""

from __future__ import annotations

import random

import numpy as np


def resolve_device(name: str = "auto"):
    """``auto`` takes CUDA when present, else the CPU; anything else is passed to torch."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from neta.errors import NetaError

    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise NetaError(f"device: unknown device {name!r} (use auto, cpu or cuda[:N])") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NetaError(f"device: {name!r} asked for but no CUDA device is present (use auto or cpu)")
    return device


def set_threads(n: int) -> None:
    """Honour the rule's ``threads:`` so two jobs on a 2-core machine don't oversubscribe it."""
    import torch

    torch.set_num_threads(max(1, int(n)))


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
