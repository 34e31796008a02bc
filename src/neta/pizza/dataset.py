"""Read ``augmented.h5`` (written by :mod:`neta.pizza.augment`) with the held-out-angle validation split.

The validation rows are every pizza's images at every ``holdout_every``-th angle (angle index
``angle // angle_step``), both the rotation and its mirror, so no model ever trains on a view whose
mirror image is held out, and every pizza (every recipe) is in both parts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from neta.errors import NetaError
from neta.h5io import read_h5

FIX = "rerun the augment_pizza stage (`neta pizza augment`) to rebuild it"


@dataclass(frozen=True)
class PizzaData:
    images: np.ndarray  # (N, 3, S, S) uint8 RGB
    recipes: np.ndarray  # (N, slots, classes) uint8 one-hot, class 0 = empty slot
    pizza_ids: np.ndarray  # (N,) str
    angles: np.ndarray  # (N,) int degrees
    flipped: np.ndarray  # (N,) bool
    val: np.ndarray  # (N,) bool, True = a held-out angle
    size: int
    slots: int
    classes: int


def load_pizza_data(augmented_h5: str | os.PathLike, *, holdout_every: int) -> PizzaData:
    """Every row of ``augmented_h5``, checked, with ``val`` marking the held-out angles."""
    data, attrs = read_h5(augmented_h5, ["images", "recipes", "pizza_ids", "angles", "flipped"])
    images, recipes = data["images"], data["recipes"]
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3] or images.dtype != np.uint8:
        raise NetaError(f"{augmented_h5}: /images must be (N, 3, S, S) uint8, got {images.shape} {images.dtype}; "
                        f"{FIX}")
    n, size = images.shape[0], images.shape[-1]
    if n == 0:
        raise NetaError(f"{augmented_h5}: no images; {FIX}")
    if recipes.ndim != 3 or recipes.shape[0] != n:
        raise NetaError(f"{augmented_h5}: /recipes must be (N, slots, classes) with N = {n}, got {recipes.shape}; "
                        f"{FIX}")
    for name in ("pizza_ids", "angles", "flipped"):
        if data[name].shape != (n,):
            raise NetaError(f"{augmented_h5}: /{name} has shape {data[name].shape}, expected ({n},); {FIX}")
    angle_step = attrs.get("angle_step")
    if not isinstance(angle_step, int) or angle_step < 1:
        raise NetaError(f"{augmented_h5}: root attribute angle_step missing or not a positive integer "
                        f"({angle_step!r}); {FIX}")
    angles = data["angles"].astype(np.int64)
    val = (angles // angle_step) % holdout_every == 0
    if val.all() or not val.any():
        raise NetaError(f"{augmented_h5}: holding out every {holdout_every}-th angle (step {angle_step} degrees) "
                        f"leaves {'no training' if val.all() else 'no validation'} images; change "
                        f"pizza.models.holdout_every or pizza.augment.angle_step")
    return PizzaData(images=images, recipes=recipes.astype(np.uint8, copy=False), pizza_ids=data["pizza_ids"],
                     angles=angles, flipped=data["flipped"].astype(bool), val=val, size=int(size),
                     slots=int(recipes.shape[1]), classes=int(recipes.shape[2]))


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> float32 in [0, 1], as every pizza model takes images."""
    return images_uint8.float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images (B, 3, S, S) in [0, 1] -> uint8 numpy (B, 3, S, S)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
