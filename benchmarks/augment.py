"""Benchmark: augment_pizza on 20 product photos (14,400 images at 64 x 64) against the original's
one-image-at-a-time Pillow procedure, same run.

Run from the repository root:  .venv/bin/python benchmarks/augment.py [--pizzas 20] [--threads 2]

The photos are SYNTHETIC: 710 x 380 JPEGs drawn here from a fixed seed in the 2017 layout (a side
view on the left, the 380 x 380 top view at x = 165): a crust disc, sauce, grainy cheese, toppings
and an asymmetric mark, so every rotation and mirror differs.

Measured:

* stage: ``augment_pizzas`` as the workflow runs it (read and crop each photo, every rotation and
  mirror, the HDF5 written to a temporary directory), in the config schema's default order;
* anchor: the original's procedure, one image at a time with Pillow: crop the top view, pad it with
  its edge pixels, ``rotate(angle, BILINEAR)``, crop back to 380 x 380, ``resize((64, 64), BILINEAR)``,
  mirror; kept in memory (it writes nothing, which favours the anchor);
* the mean absolute pixel difference (0..255) of the stage's images to the anchor's, and between the
  stage's two orders (rotate_then_resize, the original's, and resize_then_rotate) at 32 and 64.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.pizza.augment import augment_pizzas  # noqa: E402
from neta.pizza.config import AugmentSettings  # noqa: E402
from neta.settings import with_defaults  # noqa: E402

SIZE, TOP_VIEW_X, SIDE = 64, 165, 380
ORDERS = ("rotate_then_resize", "resize_then_rotate")
SPEEDUP_FLOOR, SECONDS_FLOOR = 10.0, 5.0  # issue 8: >= 10x the anchor and <= 5 s on 2 cores


def synthetic_photo(seed: int) -> Image.Image:
    """A 710 x 380 SYNTHETIC product photo: side view on the left, pizza top view at x = 165."""
    rng = np.random.default_rng(seed)
    photo = Image.new("RGB", (710, SIDE), (245, 243, 240))
    draw = ImageDraw.Draw(photo)
    draw.ellipse((10, 250, 150, 300), fill=(205, 160, 90))  # the side view, outside the top view
    x0 = TOP_VIEW_X
    draw.ellipse((x0 + 15, 15, x0 + 365, 365), fill=(214, 168, 96))  # crust
    draw.ellipse((x0 + 35, 35, x0 + 345, 345), fill=(190, 60, 35))  # sauce
    draw.ellipse((x0 + 45, 45, x0 + 335, 335), fill=(238, 205, 120))  # cheese
    for _ in range(14):  # toppings: pepperoni discs and green bits at random places
        cx, cy = rng.integers(x0 + 80, x0 + 300), rng.integers(80, 300)
        r = int(rng.integers(12, 26))
        colour = (170, 35, 30) if rng.random() < 0.6 else (60, 130, 40)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    draw.polygon([(x0 + 190, 60), (x0 + 300, 120), (x0 + 210, 110)], fill=(40, 40, 40))  # asymmetric mark
    grain = rng.normal(0, 9, (SIDE, 710, 3))
    pixels = np.clip(np.asarray(photo.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float64) + grain, 0, 255)
    return Image.fromarray(pixels.astype(np.uint8))


def anchor(paths: list[Path], angles: range) -> np.ndarray:
    """The original's procedure with Pillow, one image at a time -> (N, 3, 64, 64) uint8."""
    pad = math.ceil(SIDE * (math.sqrt(2) - 1) / 2) + 2  # the corners of a turned square stay on the padding
    rows = []
    for path in paths:
        top = np.asarray(Image.open(path).convert("RGB").crop((TOP_VIEW_X, 0, TOP_VIEW_X + SIDE, SIDE)))
        padded = Image.fromarray(np.pad(top, ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
        for angle in angles:
            turned = padded.rotate(angle, resample=Image.BILINEAR).crop((pad, pad, pad + SIDE, pad + SIDE))
            small = turned.resize((SIZE, SIZE), Image.BILINEAR)
            rows.append(np.asarray(small))
            rows.append(np.asarray(small.transpose(Image.FLIP_LEFT_RIGHT)))
    return np.stack(rows).transpose(0, 3, 1, 2)


def run_stage(paths, out, *, size, order, threads) -> tuple[float, np.ndarray]:
    recipe = np.zeros((9, 29), dtype=np.uint8)
    items = [(f"synthetic-{i}", path, recipe) for i, path in enumerate(paths)]
    started = time.perf_counter()
    augment = AugmentSettings(size=size, angle_step=1, flip=True, order=order, top_view_x=TOP_VIEW_X)
    augment_pizzas(items, out, augment=augment, device="cpu", threads=threads, max_failures=0)
    seconds = time.perf_counter() - started
    with h5py.File(out, "r") as handle:
        return seconds, handle["images"][()]


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pizzas", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    default_order = with_defaults({})["pizza"]["augment"]["order"]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for i in range(args.pizzas):
            paths.append(tmp / f"pizza_{i:02d}.jpg")
            synthetic_photo(i).save(paths[-1], quality=92)
        images = args.pizzas * 720
        print(f"{args.pizzas} SYNTHETIC 710x380 photos -> {images} images at {SIZE}x{SIZE}, "
              f"{torch.get_num_threads()} threads, default order {default_order}")

        stage_s, stage_images = run_stage(paths, tmp / "stage.h5", size=SIZE, order=default_order,
                                          threads=args.threads)
        print(f"stage ({default_order}, HDF5 written): {stage_s:.2f} s, {images / stage_s:,.0f} images/s")

        started = time.perf_counter()
        anchor_images = anchor(paths, range(360))
        anchor_s = time.perf_counter() - started
        print(f"anchor (Pillow, one image at a time): {anchor_s:.2f} s, {images / anchor_s:,.0f} images/s")
        diff = mean_abs_diff(stage_images, anchor_images)
        print(f"speedup: {anchor_s / stage_s:.1f}x; mean |stage - anchor| = {diff:.3f} (0..255)")
        verdict = {True: "met", False: "NOT met"}
        print(f"floors: speedup >= {SPEEDUP_FLOOR:.0f}x {verdict[anchor_s / stage_s >= SPEEDUP_FLOOR]}; "
              f"stage <= {SECONDS_FLOOR:.0f} s {verdict[stage_s <= SECONDS_FLOOR]}")

        order_diff, order_seconds = {}, {}
        for size in (32, SIZE):
            by_order = {}
            for order in ORDERS:
                order_seconds[order, size], by_order[order] = run_stage(paths, tmp / f"{order}_{size}.h5",
                                                                        size=size, order=order, threads=args.threads)
            order_diff[size] = mean_abs_diff(*by_order.values())
            print(f"size {size}: mean |rotate_then_resize - resize_then_rotate| = {order_diff[size]:.3f} (0..255); "
                  + ", ".join(f"{order} {order_seconds[order, size]:.2f} s" for order in ORDERS))
            if size == SIZE:
                original = mean_abs_diff(by_order["rotate_then_resize"], anchor_images)
                print(f"size {size}: mean |rotate_then_resize - anchor| = {original:.3f} (the anchor's order)")

    print(json.dumps({
        "bench": "augment", "images": images, "size": SIZE, "seconds": round(stage_s, 3),
        "anchor_seconds": round(anchor_s, 3), "speedup": round(anchor_s / stage_s, 1),
        "mean_abs_diff": round(diff, 3), "order": default_order, "order_diff": round(order_diff[SIZE], 3),
        "order_diff_32": round(order_diff[32], 3),
        "rotate_then_resize_seconds": round(order_seconds["rotate_then_resize", SIZE], 3),
    }))


if __name__ == "__main__":
    main()
