"""Every rotation of one top view, and its mirror, as a batch of uint8 images in one grid_sample call.

Geometry, chosen to match Pillow's ``Image.rotate(angle, resample=BILINEAR)``, which the original used:

* a positive angle turns the picture counter-clockwise as seen on screen, about the image centre;
* pixel centres sit at half-integers, as in Pillow (``align_corners=False`` in both ``affine_grid`` and
  ``grid_sample``): the turn is about the geometric centre of the square and a 90-degree turn maps pixel
  centres onto pixel centres exactly. (On a square image ``True`` in both calls gives the same samples;
  mixing the two zooms the picture by (S-1)/S, which the unit test catches);
* outside the picture the sampler repeats the edge pixels (``padding_mode="border"``), so a rotated
  square has no black corners (Pillow needs the image padded with its edge pixels for the same);
* bilinear sampling; resizing is the antialiased triangle filter (``interpolate(..., antialias=True)``),
  the filter Pillow's ``resize(..., BILINEAR)`` applies when it shrinks.

Two orders (``pizza.augment.order``): ``rotate_then_resize``, the original, turns the full-resolution
top view and shrinks each turn to ``size``; ``resize_then_rotate`` shrinks once and turns the small
image: (380/64)^2 = 35x fewer samples, for a slightly softer picture at angles off the axes.

Rows of a pizza, ``flip`` on: for each angle in turn, the rotated image, then its horizontal mirror
(rows 2i and 2i+1 hold ``angles[i]``); ``flip`` off: one row an angle.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ORDERS = ("rotate_then_resize", "resize_then_rotate")
# Floats one batched step may hold: rotated images (3 a pixel) + sampling grid (2 a pixel). 2^25 floats is
# 128 MiB: 44 angles at a time for a 380 x 380 top view, all 360 at once for 64 x 64.
_STEP_FLOATS = 1 << 25
_FLOATS_PER_PIXEL = 5


def rotation_thetas(angles: np.ndarray) -> torch.Tensor:
    """(A, 2, 3) affine matrices for ``affine_grid``: output point -> where to sample the input.

    Pillow's rotate samples the input at (cos a * x - sin a * y, sin a * x + cos a * y) for an output
    point (x, y) taken from the centre, x right and y down; on a square image the normalised
    coordinates of ``affine_grid`` are pixel coordinates scaled alike on both axes, so the same matrix
    applies. Computed in float64 so cos 90 degrees is 6e-17, not a float32 rounding error.
    """
    radians = np.deg2rad(np.asarray(angles, dtype=np.float64))
    cos, sin, zero = np.cos(radians), np.sin(radians), np.zeros_like(radians)
    thetas = np.stack([np.stack([cos, -sin, zero], -1), np.stack([sin, cos, zero], -1)], 1)
    return torch.from_numpy(thetas.astype(np.float32))


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) float -> (B, 3, size, size), antialiased so a shrink averages instead of skipping pixels."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class RotationAugmenter:
    """Turns top views (PIL images) into ``images_per_pizza`` rows of (3, size, size) uint8.

    The sampling grid of the small images is made once and reused for every pizza; at full
    resolution (``rotate_then_resize``) the angles go in steps bounded by ``_STEP_FLOATS``.
    """

    def __init__(self, *, size: int, angles: np.ndarray, flip: bool, order: str, device: torch.device):
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.size, self.flip, self.order, self.device = size, flip, order, device
        self.angles = np.asarray(angles, dtype=np.int16)
        self._thetas = rotation_thetas(self.angles).to(device)
        self._whole_grid: tuple[int, torch.Tensor] | None = None  # (side, grid of every angle)

    @property
    def copies(self) -> int:
        return 2 if self.flip else 1

    @property
    def images_per_pizza(self) -> int:
        return len(self.angles) * self.copies

    @property
    def row_order(self) -> str:
        return "for each angle, the rotation then its mirror" if self.flip else "one row an angle"

    def row_angles(self) -> np.ndarray:
        """(images_per_pizza,) int16: the angle of each row."""
        return np.repeat(self.angles, self.copies)

    def row_flipped(self) -> np.ndarray:
        """(images_per_pizza,) bool: whether each row is the mirrored one."""
        return np.tile(np.arange(self.copies) == 1, len(self.angles))

    def __call__(self, top_view: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
        """(images_per_pizza, 3, size, size) uint8 of one square RGB top view, written into ``out`` if given."""
        if top_view.width != top_view.height or top_view.mode != "RGB":
            raise ValueError(f"expected a square RGB top view, got {top_view.mode} {top_view.size}")
        size, n_angles = self.size, len(self.angles)
        if out is None:
            out = np.empty((self.images_per_pizza, 3, size, size), dtype=np.uint8)
        # (angle, copy, channel, y, x): copy 0 is the rotation, copy 1 its mirror
        rows = torch.from_numpy(out).view(n_angles, self.copies, 3, size, size)
        with torch.inference_mode():
            # uint8 over the bus, floats on the device; np.array copies: torch wants a writable array
            pixels = torch.from_numpy(np.array(top_view)).to(self.device)
            image = pixels.permute(2, 0, 1).unsqueeze(0).float()
            if self.order == "resize_then_rotate":
                image = resize(image, size)
            side = image.shape[-1]
            step = max(1, _STEP_FLOATS // (_FLOATS_PER_PIXEL * side * side))
            for start in range(0, n_angles, step):
                stop = min(n_angles, start + step)
                grid = self._grid(start, stop, side)
                rotated = F.grid_sample(image.expand(stop - start, -1, -1, -1), grid, mode="bilinear",
                                        padding_mode="border", align_corners=False)
                if self.order == "rotate_then_resize":
                    rotated = resize(rotated, size)
                as_bytes = rotated.round_().clamp_(0, 255).to(torch.uint8)
                rows[start:stop, 0].copy_(as_bytes)
                if self.flip:
                    rows[start:stop, 1].copy_(as_bytes.flip(-1))
        return out

    def _grid(self, start: int, stop: int, side: int) -> torch.Tensor:
        """Sampling grid of angles[start:stop] at side x side; the last one covering every angle is kept
        (the small images of ``resize_then_rotate`` all share it)."""
        shape = (stop - start, 3, side, side)
        if start > 0 or stop < len(self.angles):
            return F.affine_grid(self._thetas[start:stop], shape, align_corners=False)
        if self._whole_grid is None or self._whole_grid[0] != side:
            self._whole_grid = (side, F.affine_grid(self._thetas, shape, align_corners=False))
        return self._whole_grid[1]
