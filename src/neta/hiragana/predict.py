"""`neta hiragana predict`: the top characters of ordinary pictures of one handwritten hiragana.

A picture (a scan, a phone photo, a canvas export; any size, PNG or JPEG) is turned into the image
the model was trained on, an ETL frame reduced by :func:`neta.hiragana.etl.convert.preprocess`:

1. decoded with its EXIF orientation applied, transparency composited on white paper, grey;
2. the paper's brightness estimated at low resolution (a wide maximum filter, blurred) and divided
   out, so a photo's uneven light and grey paper become white paper; ink is ``1 - that``;
3. ink separated from paper by Otsu's threshold, never lower than the paper's own noise (a robust
   spread of the paper class) nor than :data:`MIN_CONTRAST`; specks far smaller than the pen dropped;
4. cropped to the ink's bounding box and centred, aspect kept, on a square ETL-like frame at twice
   the ETL resolution so that the longer side fills :data:`FILL` of it, as the training characters
   do (measured on the synthetic ETL8G sheets: median 81 of 128 pixels);
5. a pen far thicker or thinner than the ETL writers' (:data:`PEN_RANGE`, 128-pixel frame units,
   measured on the same sheets, see :func:`_pen_width`) thinned by erosion or thickened by
   dilation to the writers' median width, so a marker on a large canvas looks like a pen on an ETL
   sheet;
6. inked at the ETL writers' typical level (:data:`INK_LEVEL`) and area-averaged to the model's
   size with the weights the ETL converter uses.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import skeletonize

from neta.errors import NetaError
from neta.hiragana.etl.convert import area_weights

ETL_FRAME = 128  # side of an ETL8G image (128 x 127), the frame the pen widths below are measured in
SUPERSAMPLE = 2  # the frame is built at twice the ETL resolution, as the synthetic sheets are drawn
# Measured on the seed's synthetic ETL8G sheets (500 hiragana, each scaled up to the frame below and
# cut at half its ink level, as this module sees a picture):
FILL = 0.635  # longer side of the ink's bounding box / frame side: median (5th..95th pct 0.51..0.79)
PEN_RANGE = (2.0, 4.9)  # pen width in ETL frame pixels (see _pen_width): 5th..95th percentile
PEN_TARGET = 3.6  # ... median: the width a pen outside PEN_RANGE is brought to
INK_LEVEL = 0.88  # a fully inked pixel as a fraction of 255: median (5th..95th pct 0.74..1.0)
MIN_CONTRAST = 0.15  # ink must be at least this much darker than the paper around it (fraction)
MIN_EXTENT = 8  # pixels the ink must span at least, so a speck of dust is not read as a character
MAX_SIDE = 1024  # pictures are decoded at most this large; a character needs far less
BACKGROUND_GRID = 128  # side of the low-resolution copy the paper brightness is estimated on
BACKGROUND_WINDOW = 0.2  # maximum-filter window as a fraction of that copy: wider than any stroke

_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


# --- reading -----------------------------------------------------------------------------------


Picture = str | os.PathLike | Image.Image  # a file, or an image already in memory (an upload, a canvas)


def picture_name(picture: Picture) -> str:
    """How messages name ``picture``: its path, or for an in-memory image its filename or "the picture"."""
    if isinstance(picture, Image.Image):
        return getattr(picture, "filename", "") or "the picture"
    return os.fspath(picture)


def read_grey(picture: Picture) -> np.ndarray:
    """``picture`` as float32 grey in [0, 1] (paper high), upright, at most MAX_SIDE."""
    path = picture_name(picture)
    try:
        if isinstance(picture, Image.Image):
            grey = _upright_grey(picture)
        else:
            with Image.open(picture) as opened:
                opened.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode grey at a reduced scale, much faster
                grey = _upright_grey(opened)
    except FileNotFoundError as exc:
        raise NetaError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise NetaError(f"{path}: is a directory, not an image") from exc
    except UnidentifiedImageError as exc:
        raise NetaError(f"{path}: not an image Pillow can read (give a PNG or JPEG picture)") from exc
    except _UNREADABLE as exc:
        raise NetaError(f"{path}: the image does not decode ({exc})") from exc
    if min(grey.shape) < 1:
        raise NetaError(f"{path}: the image is empty ({grey.shape[1]}x{grey.shape[0]} pixels)")
    return grey


def _upright_grey(image: Image.Image) -> np.ndarray:
    image = ImageOps.exif_transpose(image)
    image.load()
    return _to_grey(image)


def _to_grey(image: Image.Image) -> np.ndarray:
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if transparent:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if values.max(initial=0) > 255 else 255.0
        grey = np.clip(values / top, 0.0, 1.0)
    else:
        grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if max(grey.shape) > MAX_SIDE:
        scale = MAX_SIDE / max(grey.shape)
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = np.asarray(Image.fromarray(grey).resize(size, Image.BOX), dtype=np.float32)
    return grey


# --- ink ---------------------------------------------------------------------------------------


def _resize(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """float32 array resized: area averaging down, bilinear up."""
    shrink = width <= values.shape[1] and height <= values.shape[0]
    method = Image.BOX if shrink else Image.BILINEAR
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize((width, height), method), dtype=np.float32)


def paper_brightness(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness under every pixel: light falling unevenly, grey paper, vignetting.

    Estimated on a copy of at most BACKGROUND_GRID pixels a side: a maximum filter wider than any
    stroke replaces ink by the paper next to it, a blur smooths the result, and it is scaled back.
    """
    height, width = grey.shape
    scale = min(1.0, BACKGROUND_GRID / max(height, width))
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = _resize(grey, small_w, small_h) if scale < 1.0 else grey
    small = ndimage.gaussian_filter(small, 1.0, mode="nearest")  # bright noise must not read as paper
    window = max(3, int(round(BACKGROUND_WINDOW * max(small.shape))) | 1)
    paper = ndimage.maximum_filter(small, size=window, mode="nearest")
    paper = ndimage.gaussian_filter(paper, window / 2.0, mode="nearest")
    if scale < 1.0:
        paper = _resize(paper, width, height)
    return np.maximum(paper, 1e-3)


def _pen_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the median distance from the centre lines to the paper.

    (The median ignores the short spurs and stroke ends; ink area / centre-line length does not and
    reads short, stubby strokes as far wider than they are.)
    """
    centre = skeletonize(mask)
    if not centre.any():
        return 0.0
    inside = ndimage.distance_transform_edt(mask)
    return max(0.0, 2.0 * float(np.median(inside[centre])) - 1.0)


def ink_map(grey: np.ndarray, path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(soft ink 0..1 with paper 0 and a stroke's inside 1, the ink mask), specks removed.

    An image without ink darker than its paper is a NetaError naming ``path``.
    """
    ink = 1.0 - np.clip(grey / paper_brightness(grey), 0.0, 1.0)
    no_ink = f"{path}: no writing found (expected dark ink on light paper, one character)"
    if float(ink.max()) < MIN_CONTRAST:
        raise NetaError(no_ink)
    otsu = float(threshold_otsu(ink))
    paper = ink[ink <= otsu]
    paper_level = float(np.median(paper)) if paper.size else 0.0
    spread = 1.4826 * float(np.median(np.abs(paper - paper_level))) if paper.size else 0.0
    threshold = max(otsu, paper_level + 6.0 * spread, paper_level + MIN_CONTRAST)
    mask = ink > threshold
    if not mask.any():
        raise NetaError(no_ink)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    pen = _pen_width(mask)
    smallest = max(0.25 * pen * pen, 0.002 * float(areas.sum()), 2.0)
    mask = (areas >= smallest)[labels]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size or max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_EXTENT:
        raise NetaError(no_ink)
    ink_level = float(np.percentile(ink[mask], 90))
    soft = np.clip((ink - paper_level) / max(ink_level - paper_level, 1e-3), 0.0, 1.0)
    near = ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool), iterations=2)
    return np.where(near, soft, 0.0).astype(np.float32), mask


# --- the ETL-like frame ------------------------------------------------------------------------


def etl_frame(soft: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The ink cropped to its bounding box, centred on a square frame (SUPERSAMPLE x ETL_FRAME) that
    its longer side fills to FILL, aspect ratio kept."""
    side = ETL_FRAME * SUPERSAMPLE
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    scale = FILL * side / max(bottom - top, right - left)
    # one pixel of soft edge around the box comes along, so the strokes keep their antialiasing
    pad = 1
    top, left = max(0, top - pad), max(0, left - pad)
    bottom, right = min(soft.shape[0], bottom + pad), min(soft.shape[1], right + pad)
    crop = soft[top:bottom, left:right]
    width = min(side, max(1, round(crop.shape[1] * scale)))
    height = min(side, max(1, round(crop.shape[0] * scale)))
    frame = np.zeros((side, side), np.float32)
    y0, x0 = (side - height) // 2, (side - width) // 2
    frame[y0 : y0 + height, x0 : x0 + width] = np.clip(_resize(crop, width, height), 0.0, 1.0)
    return frame


def normalise_pen(frame: np.ndarray) -> np.ndarray:
    """Thin or thicken the strokes to an ETL writer's pen when theirs lies outside PEN_RANGE.

    A stroke of a round pen is its centre line widened by a disk, so eroding it by a disk (or
    dilating it) gives the same line drawn with a narrower (or wider) pen, joins and ends included;
    both are done with a distance transform, which keeps a one-pixel soft edge. (Redrawing along a
    skeleton was tried: the skeleton's spurs into a square stroke end read as dakuten at 28 pixels.)
    """
    mask = frame > 0.5
    if not mask.any():
        return frame
    width = _pen_width(mask) / SUPERSAMPLE
    if PEN_RANGE[0] <= width <= PEN_RANGE[1]:
        return frame
    change = (PEN_TARGET - width) * SUPERSAMPLE / 2.0  # a side of every stroke, in frame pixels
    # an ink pixel's distance to the paper is 1 at the edge, which lies half a pixel further out
    if change < 0:
        inside = ndimage.distance_transform_edt(mask)
        return np.clip(inside + change, 0.0, 1.0).astype(np.float32)
    outside = ndimage.distance_transform_edt(~mask)
    return np.clip(1.0 + change - outside, 0.0, 1.0).astype(np.float32)


def to_model_image(frame: np.ndarray, size: int) -> np.ndarray:
    """Soft ink frame -> (size, size) uint8, ink high, area-averaged as the ETL converter does."""
    rows = area_weights(frame.shape[0], size)
    cols = area_weights(frame.shape[1], size)
    small = rows @ (frame * INK_LEVEL) @ cols.T * 255.0
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def prepare_image(picture: Picture, size: int) -> np.ndarray:
    """``picture`` (a path or a PIL image) as the model's input: ``(size, size)`` uint8, ink high (see the module)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise NetaError(f"image size must be a positive number of pixels, got {size!r}")
    if size > ETL_FRAME * SUPERSAMPLE:
        raise NetaError(f"image size {size} exceeds the {ETL_FRAME * SUPERSAMPLE}-pixel frame it is reduced from")
    soft, mask = ink_map(read_grey(picture), picture_name(picture))
    return to_model_image(normalise_pen(etl_frame(soft, mask)), int(size))


def etl_appearance(raw_images: np.ndarray, bits: int, *, sample: int = 500, seed: int = 0) -> dict:
    """Percentiles (5, 25, 50, 75, 95) of FILL, pen width and ink level on raw ETL frames (N, H, W).

    Each frame is scaled up to the working frame and cut at half its ink level, as a picture is
    here; this is how the constants above were measured (rerun it when the synthetic sheets change).
    """
    frames = np.asarray(raw_images, dtype=np.float32) / float((1 << bits) - 1)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(frames), min(sample, len(frames)), replace=False)
    side = ETL_FRAME * SUPERSAMPLE
    fill, pen, ink = [], [], []
    for frame in frames[picked]:
        big = _resize(frame, side, round(side * frame.shape[0] / frame.shape[1]))
        inked = big[big > 0.3 * big.max()]
        if not inked.size:
            continue
        level = float(np.percentile(inked, 90))
        mask = big > 0.5 * level
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        fill.append((max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1) / side)
        pen.append(_pen_width(mask) / SUPERSAMPLE)
        ink.append(level)
    quantiles = [5, 25, 50, 75, 95]
    return {name: np.percentile(values, quantiles).round(3).tolist()
            for name, values in (("fill", fill), ("pen", pen), ("ink_level", ink))}


# --- prediction --------------------------------------------------------------------------------


def _truncate(p: float, digits: int = 6) -> float:
    """Rounded down, so the probabilities shown never add up to more than 1."""
    return math.floor(p * 10**digits) / 10**digits


def _check_request(pictures: Sequence, top) -> None:
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise NetaError(f"top: expected a positive integer, got {top!r}")
    if not pictures:
        raise NetaError("no images given")


class HiraganaPredictor:
    """The CNN of a hiragana checkpoint, loaded once: the top characters of pictures, prepared as above.

    Not thread-safe: a caller that shares one between threads holds a lock around :meth:`predict`.
    """

    def __init__(self, model_path: str | os.PathLike, *, device: str) -> None:
        from neta.device import resolve_device
        from neta.hiragana.checkpoint import load_models

        self.model_path = model_path
        self.device = resolve_device(device)
        self.models = load_models(model_path, self.device)
        self.classes = self.models.classes
        self.size = self.models.size

    def predict(self, pictures: Sequence[Picture], *, top: int) -> list[list[dict]]:
        """One list a picture, in order: ``[{"char", "p"}, ...]``, the ``top`` most probable, best first.

        ``p`` is the CNN's softmax probability. Every picture is read and checked before the model
        runs, so a bad one stops the batch with a NetaError naming it.
        """
        import torch

        from neta.hiragana.dataset import to_float_batch

        _check_request(pictures, top)
        images = np.stack([prepare_image(picture, self.size) for picture in pictures])
        with torch.inference_mode():
            probs = torch.softmax(self.models.cnn(to_float_batch(images).to(self.device)).float(), dim=1).cpu()
        values, indices = probs.topk(min(int(top), len(self.classes)), dim=1)
        return [[{"char": self.classes[i], "p": _truncate(float(p))}
                 for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)]
                for row_p, row_i in zip(values, indices, strict=True)]


def predict_images(
    model_path: str | os.PathLike, paths: Sequence[str | os.PathLike], *, top: int, device: str
) -> list[dict]:
    """One dict an image, in order: ``{"image": path as given, "top5": [{"char", "p"}, ...]}``.

    ``p`` is the CNN's softmax probability, best first; the key is ``f"top{top}"``. Every image is
    read and checked before the model runs, so a bad one stops the batch with a NetaError naming it.
    """
    _check_request(paths, top)  # before the model is loaded
    found = HiraganaPredictor(model_path, device=device).predict(paths, top=top)
    return [{"image": os.fspath(path), f"top{top}": best} for path, best in zip(paths, found, strict=True)]
