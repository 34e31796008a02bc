"""The top view of a Dodo product photo: the square of pizza seen from above that the augmentation rotates.

A 2017 product photo is 710 x 380 pixels: a side view on the left and the 380 x 380 top view at
x = 165, y = 0 (``pizza.augment.top_view_x``). A landscape photo of another size is cut the same way:
the square whose side is the photo's height, at ``top_view_x``. The 2023 site's product images are
square top views and are used whole. A portrait photo has no known layout and is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

from PIL import Image

from neta.errors import NetaError

_WHITE = (255, 255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as RGB; a transparent background (RGBA, LA, P with transparency) becomes white,
    as on the product pages, rather than the black a plain ``convert("RGB")`` would leave."""
    if image.mode == "RGB":
        return image
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return image.convert("RGB")


def crop_top_view(image: Image.Image, *, top_view_x: int) -> Image.Image:
    """The square top view of a product photo, in RGB (see the module docstring for the layouts)."""
    width, height = image.size
    if width == height:
        return to_rgb(image)
    if width < height:
        raise NetaError(f"the photo is {width}x{height} (portrait): no top view layout is known for it; "
                        "a product photo is landscape (top view at top_view_x) or square (all top view)")
    if top_view_x < 0 or top_view_x + height > width:
        raise NetaError(f"the photo is {width}x{height}: its {height}x{height} top view at x={top_view_x} does not "
                        f"fit (it would end at x={top_view_x + height}); pizza.augment.top_view_x must lie in "
                        f"0..{width - height} for this photo")
    return to_rgb(image.crop((top_view_x, 0, top_view_x + height, height)))


def read_top_view(path: str | os.PathLike, *, top_view_x: int, min_side: int) -> tuple[Image.Image, str]:
    """(RGB top view, sha256 of the file) of one photo; NetaError says why a photo cannot be used.

    The file is read once: the same bytes are hashed (for the provenance) and decoded. ``load()``
    decodes every pixel, so a truncated file fails here and not half-way through the augmentation.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NetaError(f"{path}: cannot read the photo ({exc.strerror or exc})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NetaError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    try:
        top = crop_top_view(image, top_view_x=top_view_x)
    except NetaError as exc:
        raise NetaError(f"{path}: {exc}") from exc
    if top.width < min_side:
        raise NetaError(f"{path}: the top view is {top.width}x{top.height} pixels, smaller than the "
                        f"{min_side}x{min_side} images to make")
    return top, hashlib.sha256(data).hexdigest()
