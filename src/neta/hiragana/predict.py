"""`neta hiragana predict`: the top characters of ordinary pictures of one handwritten hiragana.

A picture (a scan, a phone photo, a canvas export; any size, PNG or JPEG) is decoded with its EXIF
orientation applied, transparency composited on white paper, made grey, and then normalised as
every ETL record is (:mod:`neta.hiragana.normalise`: paper levelled, ink found, cropped to the ink,
framed, the pen brought to an ETL writer's), so a picture and an ETL record of the same character
reach the model as the same image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from neta.errors import NetaError
from neta.hiragana.normalise import ETL_FRAME, SUPERSAMPLE, normalise_grey_sizes, picture_framing
from neta.images import ImageLimits, checked_image, pillow_errors

MAX_SIDE = 1024  # pictures are decoded at most this large; a character needs far less


# --- reading -----------------------------------------------------------------------------------


Picture = str | os.PathLike | Image.Image  # a file, or an image already in memory (an upload, a canvas)


def picture_name(picture: Picture) -> str:
    """How messages name ``picture``: its path, or for an in-memory image its filename or "the picture"."""
    if isinstance(picture, Image.Image):
        return getattr(picture, "filename", "") or "the picture"
    return os.fspath(picture)


def read_grey(picture: Picture, limits: ImageLimits | None = None) -> np.ndarray:
    """``picture`` as float32 grey in [0, 1] (paper high), upright, at most MAX_SIDE. A file over
    ``limits`` is refused before it is decoded (None: a picture neta made itself, or already checked)."""
    path = picture_name(picture)
    if isinstance(picture, Image.Image):
        with pillow_errors(path):
            grey = _upright_grey(picture)
    else:
        with checked_image(picture, limits) as opened:  # a broken EXIF block is the picture's fault too
            opened.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode grey at a reduced scale, much faster
            grey = _upright_grey(opened)
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


def prepare_image(picture: Picture, size: int, normalise: str, limits: ImageLimits | None = None) -> np.ndarray:
    """``picture`` (a path or a PIL image) as the model's input: ``(size, size)`` uint8, ink high (see the module).

    ``normalise`` is the model's (its checkpoint's ``normalise``): a picture is framed as its records were.
    ``limits``: see :func:`read_grey`.
    """
    return prepare_image_sizes(picture, (size,), normalise, limits)[0]


def prepare_image_sizes(picture: Picture, sizes: Sequence[int], normalise: str,
                        limits: ImageLimits | None = None) -> list[np.ndarray]:
    """:func:`prepare_image` at each of ``sizes``, the picture read and framed once."""
    _check_sizes(sizes)
    return prepare_grey_sizes(read_grey(picture, limits), sizes, normalise, picture_name(picture))


def prepare_grey_sizes(grey: np.ndarray, sizes: Sequence[int], normalise: str, name: str) -> list[np.ndarray]:
    """A picture already read (:func:`read_grey`) as the model's inputs at each of ``sizes``; ``name``
    names it in errors."""
    _check_sizes(sizes)
    return normalise_grey_sizes(grey, [int(size) for size in sizes], name, picture_framing(normalise))


def _check_sizes(sizes: Sequence[int]) -> None:
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise NetaError(f"image size must be a positive number of pixels, got {size!r}")
        if size > ETL_FRAME * SUPERSAMPLE:
            raise NetaError(f"image size {size} exceeds the {ETL_FRAME * SUPERSAMPLE}-pixel frame it is reduced from")


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

        ``p`` is the CNN's probability (averaged over its zooms, :mod:`neta.hiragana.reading`). Every
        picture is read and checked before the model runs, so a bad one stops the batch with a NetaError
        naming it.
        """
        _check_request(pictures, top)
        images = [prepare_image(picture, self.size, self.models.normalise) for picture in pictures]
        return self.predict_prepared(np.stack(images), top=top)

    def predict_prepared(self, images: np.ndarray, *, top: int) -> list[list[dict]]:
        """:meth:`predict` of pictures already made model inputs by :func:`prepare_image` ``(N, S, S)``."""
        import torch

        from neta.hiragana.dataset import to_float_batch
        from neta.hiragana.reading import class_probabilities

        with torch.inference_mode():
            probs = class_probabilities(self.models.cnn, to_float_batch(images).to(self.device)).cpu()
        values, indices = probs.topk(min(int(top), len(self.classes)), dim=1)
        return [[{"char": self.classes[i], "p": _truncate(float(p))}
                 for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)]
                for row_p, row_i in zip(values, indices, strict=True)]


def predict_images(model_path: str | os.PathLike, paths: Sequence[str | os.PathLike], *, top: int, device: str,
                   limits: ImageLimits) -> list[dict]:
    """One dict an image, in order: ``{"image": path as given, "top5": [{"char", "p"}, ...]}``.

    ``p`` is the CNN's probability (see :meth:`HiraganaPredictor.predict`), best first; the key is
    ``f"top{top}"``. A picture that cannot be used (unreadable, over ``limits``, no writing found) gets
    ``{"image", "error"}`` instead, the NetaError's message, and the others are still predicted.
    """
    _check_request(paths, top)  # before the model is loaded
    predictor = HiraganaPredictor(model_path, device=device)
    rows: list[dict] = []
    prepared: list[np.ndarray] = []
    for path in paths:
        rows.append({"image": os.fspath(path)})
        try:
            prepared.append(prepare_image(path, predictor.size, predictor.models.normalise, limits))
        except NetaError as exc:
            rows[-1]["error"] = str(exc)
    if prepared:
        found = iter(predictor.predict_prepared(np.stack(prepared), top=top))
        for row in rows:
            if "error" not in row:
                row[f"top{top}"] = next(found)
    return rows
