"""augment_pizza: each pizza's top view rotated in ``angle_step`` degrees and mirrored -> ``augmented.h5``.

The original (a Keras CVAE) cropped the top view of each Dodo product photo and saved it turned
by 1 degree 360 times and flipped: 720 images a pizza. Here one batched ``grid_sample`` makes all of
a pizza's images at once (see :mod:`neta.pizza.rotations` for the geometry and the two orders).

Written (rows grouped by pizza, ``images_per_pizza`` each, in the order of the rows of
:class:`~neta.pizza.rotations.RotationAugmenter`: for each angle, the rotation then its mirror):

* ``/images (N,3,S,S) uint8`` RGB, chunked one pizza a chunk so a reader takes a pizza in one read,
  lzf-compressed (gzip level 4 took longer than the whole augmentation; see benchmarks/augment.py);
* ``/recipes (N,slots,V+1) uint8`` the pizza's one-hot recipe on each of its rows;
* ``/pizza_ids (N,) str``, ``/angles (N,) int16`` degrees counter-clockwise, ``/flipped (N,) bool``.

A photo that cannot be used (unreadable, not an image, no top view, smaller than the images to
make) is skipped and reported in the summary naming the pizza; past ``max_failures`` of them the
stage stops and writes nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable

import numpy as np
import torch

from neta.device import resolve_device, set_threads
from neta.diskspace import estimate, require_free_space
from neta.errors import NetaError
from neta.h5io import write_h5
from neta.pizza.config import AugmentSettings
from neta.pizza.rotations import RotationAugmenter
from neta.pizza.topview import read_top_view
from neta.progress import progress

log = logging.getLogger(__name__)

STAGE = "augment_pizza"


def augment_pizzas(
    items: Iterable[tuple[str, str | os.PathLike, np.ndarray]],
    out_h5: str | os.PathLike,
    *,
    augment: AugmentSettings,
    device: str | torch.device,
    threads: int,
    max_failures: int,
) -> dict:
    """Augment each (pizza_id, image_path, recipe (slots, V+1) uint8) and write ``out_h5``; return a summary.

    ``max_failures``: how many photos may fail (each is skipped and listed in ``summary["failures"]``
    as ``{"pizza_id", "reason"}``) before the stage stops with a NetaError, writing nothing.
    """
    started = time.perf_counter()
    size, order = augment.size, augment.order
    set_threads(threads)
    device = device if isinstance(device, torch.device) else resolve_device(device)
    items = list(items)
    augmenter = RotationAugmenter(size=size, angles=np.arange(0, 360, augment.angle_step), flip=augment.flip,
                                  order=order, device=device)
    per_pizza = augmenter.images_per_pizza
    require_free_space(out_h5, augmented_bytes(items, per_pizza, size), f"{len(items) * per_pizza} images")
    # uint8 rows of every pizza, filled in place: the only copy of the images until they are written
    images = np.empty((len(items) * per_pizza, 3, size, size), dtype=np.uint8)
    pizza_ids, recipes, input_hashes, failures = [], [], {}, []
    for pizza_id, image_path, recipe in progress(items, desc=STAGE, unit="pizza"):
        try:
            top_view, sha256 = read_top_view(image_path, top_view_x=augment.top_view_x, min_side=size)
        except NetaError as exc:
            failures.append({"pizza_id": pizza_id, "reason": str(exc)})
            log.warning("%s: skipped pizza %s: %s", STAGE, pizza_id, exc)
            if len(failures) > max_failures:
                raise NetaError(_too_many_failures(failures, max_failures, out_h5)) from exc
            continue
        recipe = np.asarray(recipe, dtype=np.uint8)
        if recipes and recipe.shape != recipes[0].shape:
            raise NetaError(f"pizza {pizza_id}: recipe matrix {recipe.shape} differs from the others' "
                            f"{recipes[0].shape}; recipes.json must hold one vocabulary")
        start = len(pizza_ids) * per_pizza
        augmenter(top_view, out=images[start : start + per_pizza])
        pizza_ids.append(pizza_id)
        recipes.append(recipe)
        input_hashes[str(image_path)] = sha256
    augment_s = time.perf_counter() - started
    if not pizza_ids:
        raise NetaError(f"{STAGE}: none of the {len(items)} pizzas could be augmented; {out_h5} not written. "
                        f"{_listed(failures)}")

    n_rows = len(pizza_ids) * per_pizza
    per_row = {"chunk_rows": per_pizza}  # one pizza a chunk in every per-image dataset
    write_h5(
        out_h5,
        {
            "images": images[:n_rows],
            "recipes": np.repeat(np.stack(recipes), per_pizza, axis=0),
            "pizza_ids": np.repeat(np.asarray(pizza_ids, dtype=str), per_pizza),
            "angles": np.tile(augmenter.row_angles(), len(pizza_ids)),
            "flipped": np.tile(augmenter.row_flipped(), len(pizza_ids)),
        },
        stage=STAGE,
        params=augment.record(),
        inputs=input_hashes,
        attrs={"size": size, "order": order, "angle_step": augment.angle_step, "flip": augment.flip,
               "top_view_x": augment.top_view_x,
               "images_per_pizza": per_pizza, "row_order": f"pizza by pizza; {augmenter.row_order}"},
        dataset_attrs={
            "images": {"description": "RGB top views 0..255, (row, channel, y, x)"},
            "recipes": {"description": "the pizza's one-hot recipe: slots x (ingredients + empty)"},
            "angles": {"description": "degrees counter-clockwise, as PIL.Image.rotate", "units": "degree"},
            "flipped": {"description": "True: the rotation at /angles mirrored left-right"},
        },
        storage={"images": {**per_row, "compression": "lzf"}, "recipes": per_row, "pizza_ids": per_row,
                 "angles": per_row, "flipped": per_row},
    )
    seconds = time.perf_counter() - started
    log.info("%s: read %d photos (%d skipped) -> %s: %d images %dx%d (%s, %d a pizza); augment %.2f s, "
             "write %.2f s, total %.2f s", STAGE, len(items), len(failures), out_h5, n_rows, size, size, order,
             per_pizza, augment_s, seconds - augment_s, seconds)
    return {
        "out": str(out_h5),
        "pizzas": len(pizza_ids),
        "images": n_rows,
        "images_per_pizza": per_pizza,
        "size": size,
        "order": order,
        "failures": failures,
        "augment_seconds": round(augment_s, 3),
        "seconds": round(seconds, 3),
    }


def augmented_bytes(items: list[tuple[str, str | os.PathLike, np.ndarray]], per_pizza: int, size: int) -> int:
    """The disk ``augmented.h5`` takes at most for ``items``: every row uncompressed, with a margin.

    A row is an image (3 x size x size bytes), its recipe (slots x (V+1) bytes), its pizza id (the
    text and a 16-byte reference), angle (2 bytes) and flip (1). lzf saves little on photos (about
    9 % on the default run's), so this is close to the file's size, not far above it.
    """
    recipe = max((np.asarray(item[2]).size for item in items), default=0)
    pizza_id = max((len(str(item[0]).encode("utf-8")) for item in items), default=0)
    return estimate(len(items) * per_pizza, 3 * size * size + recipe + pizza_id + 16 + 2 + 1)


def _too_many_failures(failures: list[dict], max_failures: int, out_h5) -> str:
    return (f"{STAGE}: {len(failures)} photos failed, more than the {max_failures} that pizza.max_failure_ratio "
            f"allows; {out_h5} not written. {_listed(failures)}")


def _listed(failures: list[dict], most: int = 10) -> str:
    return "; ".join(f"{f['pizza_id']}: {f['reason']}" for f in failures[:most])
