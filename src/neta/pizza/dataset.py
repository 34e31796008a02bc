"""Read ``augmented.h5`` (written by :mod:`neta.pizza.augment`) with its two held-out parts.

* Held-out angles (``val``): every pizza's images at every ``holdout_every``-th angle (angle index
  ``angle // angle_step``), both the rotation and its mirror, so no model ever trains on a view whose
  mirror image is held out.
* Unseen pizzas (``unseen``): ``holdout_pizzas`` whole pizzas, every image of them, drawn with the
  seed among the pizzas whose every ingredient is on some other pizza left in training. No generator
  sees them; drawing their recipes tests the recipe conditioning on combinations never trained on.
  (The original split its augmented images at random, so rotations of one pizza were on both sides.)

The generators train on the rows that are neither; the judge may train on every pizza's training angles.
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
    unseen: np.ndarray  # (N,) bool, True = a row of a held-out pizza
    size: int
    slots: int
    classes: int

    @property
    def generator_rows(self) -> np.ndarray:
        """The rows a generator trains on: training angles of the pizzas it may see."""
        return np.flatnonzero(~self.val & ~self.unseen)

    @property
    def seen_val_rows(self) -> np.ndarray:
        """Held-out angles of the pizzas the generators train on."""
        return np.flatnonzero(self.val & ~self.unseen)

    @property
    def unseen_ids(self) -> list[str]:
        return sorted(set(self.pizza_ids[self.unseen].astype(str).tolist()))


def choose_unseen_pizzas(pizza_ids: list[str], ingredient_sets: np.ndarray, *, count: int, seed: int,
                         tries: int = 1000) -> list[str]:
    """``count`` of ``pizza_ids`` (rows of ``ingredient_sets`` (P, V) bool), drawn with ``seed``, such that
    every ingredient of a chosen pizza is on some pizza not chosen; sorted. NetaError when no draw of
    ``tries`` works."""
    if count == 0:
        return []
    if count > len(pizza_ids) - 2:
        raise NetaError(f"pizza.models.holdout_pizzas = {count} of {len(pizza_ids)} pizzas leaves fewer than two to "
                        "train the generators on; hold out fewer")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    sets = np.asarray(ingredient_sets, dtype=bool)
    for _ in range(tries):
        chosen = np.zeros(len(pizza_ids), dtype=bool)
        chosen[rng.choice(len(pizza_ids), size=count, replace=False)] = True
        if not (sets[chosen] & ~sets[~chosen].any(axis=0)).any():
            return sorted(np.asarray(pizza_ids)[chosen].tolist())
    raise NetaError(f"pizza.models.holdout_pizzas = {count}: no {count} pizzas found in {tries} draws whose every "
                    "ingredient is also on a pizza left in training; hold out fewer")


def load_pizza_data(augmented_h5: str | os.PathLike, *, holdout_every: int, holdout_pizzas: int = 0,
                    seed: int = 0) -> PizzaData:
    """Every row of ``augmented_h5``, checked, with ``val`` marking the held-out angles and ``unseen`` the
    rows of the ``holdout_pizzas`` pizzas :func:`choose_unseen_pizzas` draws with ``seed``."""
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
    recipes = recipes.astype(np.uint8, copy=False)
    pizza_ids = data["pizza_ids"].astype(str)
    names, first = np.unique(pizza_ids, return_index=True)
    held = choose_unseen_pizzas(names.tolist(), recipes[first, :, 1:].any(axis=1), count=holdout_pizzas, seed=seed)
    return PizzaData(images=images, recipes=recipes, pizza_ids=pizza_ids, angles=angles,
                     flipped=data["flipped"].astype(bool), val=val, unseen=np.isin(pizza_ids, held), size=int(size),
                     slots=int(recipes.shape[1]), classes=int(recipes.shape[2]))


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> float32 in [0, 1], as every pizza model takes images."""
    return images_uint8.float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images (B, 3, S, S) in [0, 1] -> uint8 numpy (B, 3, S, S)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
