"""Every picture neta takes from outside is opened here: one pixel limit, one set of messages.

The pictures given to ``neta caption`` and ``neta hiragana predict``, the app's uploads, the photos a
crawl downloads and those of a caption dataset on disk all go through :func:`open_image` (or
:func:`checked_image`). Pillow's ``Image.open`` reads only the header, so the size is checked against
the ``images`` config section (``max_pixels``, ``max_side``) before a single pixel is decoded: a
20000 x 20000 PNG of a few kilobytes is refused in milliseconds instead of taking gigabytes. Whatever
Pillow raises about a file becomes an :class:`ImageRefused` (a NetaError) naming it. A picture written
where the user says takes its format from the file's suffix (:func:`save_format`).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from neta.errors import NetaError
from neta.settings import ConfigSection

Source = str | os.PathLike | bytes  # a file, or a file's bytes (an upload, a download)

# Pillow refuses, whatever neta's limit, an image of more than twice its MAX_IMAGE_PIXELS (the
# schema caps images.max_pixels there); its message is the one place that count is found.
_PILLOW_COUNT = re.compile(r"\((\d+) pixels\)")

# suffix -> Pillow's format, for a picture neta writes where the user says (`neta pizza generate --out`)
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


@dataclass(frozen=True)
class ImageLimits(ConfigSection):
    """The largest picture neta decodes: pixels in all, and pixels along either side."""

    KEY = "images"
    max_pixels: int
    max_side: int


class ImageRefused(NetaError):
    """A picture neta will not use. ``reason`` lets a caller answer in its own terms (the app's HTTP
    status, the downloader's manifest status): ``too_large``, ``not_image``, ``undecodable``, ``unreadable``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # a worker process's refusal reaches its parent whole (the default drops ``reason``)
        return type(self), (str(self), self.reason)


def source_name(source: Source) -> str:
    return "the picture" if isinstance(source, bytes) else os.fspath(source)


def check_size(width: int, height: int, limits: ImageLimits, name: str) -> None:
    """ImageRefused (too_large) when a ``width`` x ``height`` picture is over ``limits``."""
    if width * height > limits.max_pixels:
        raise _too_large(name, f"{width}x{height} = {width * height:,} pixels", limits.max_pixels, "max_pixels")
    if max(width, height) > limits.max_side:
        raise _too_large(name, f"{width}x{height} pixels, {max(width, height):,} along a side", limits.max_side,
                         "max_side")


def _too_large(name: str, found: str, limit: int, key: str) -> ImageRefused:
    flag = "--" + key.replace("_", "-")
    return ImageRefused(f"{name}: the picture is {found}, over the limit of {limit:,} (images.{key}); it was not "
                        f"decoded. Give a smaller picture, or raise the limit with {flag} or images.{key} in "
                        "config.yaml", "too_large")


@contextmanager
def checked_image(source: Source, limits: ImageLimits | None, *, name: str | None = None,
                  formats: Sequence[str] | None = None) -> Iterator[Image.Image]:
    """``source`` opened by Pillow, not yet decoded, its size within ``limits`` and its format one of
    ``formats`` (Pillow's names: "PNG", "JPEG"; None: any). What Pillow raises inside the ``with`` block
    (``draft``, ``load``, ``verify``) becomes an ImageRefused naming ``name`` (default: the path).

    ``limits`` None is for files neta made or already checked with them: only Pillow's own guard applies.
    """
    name = name or source_name(source)
    with pillow_errors(name, limits, formats):
        # Pillow warns from about 89 Mpx; neta's own check below is what decides, so the warning would
        # only repeat it (or, under a raised limit, cry wolf). Not thread-safe before Python 3.14, but
        # every thread that races here sets the same filter, so the worst case leaves it set.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        with image:
            if limits is not None:
                check_size(*image.size, limits, name)
            if formats is not None and image.format not in formats:
                raise ImageRefused(f"{name}: the picture is a {image.format or 'unknown'} image; give a "
                                   f"{' or '.join(formats)} file", "not_image")
            yield image


def open_image(source: Source, limits: ImageLimits | None, *, name: str | None = None,
               formats: Sequence[str] | None = None, draft: tuple[str, tuple[int, int]] | None = None
               ) -> Image.Image:
    """``source`` decoded in full, after :func:`checked_image`'s checks. ``draft`` (mode, size): let a
    JPEG decode at a reduced scale no smaller than size (Pillow's ``Image.draft``), far faster."""
    with checked_image(source, limits, name=name, formats=formats) as image:
        if draft is not None:
            image.draft(*draft)
        image.load()
    return image


@contextmanager
def pillow_errors(name: str, limits: ImageLimits | None = None, formats: Sequence[str] | None = None
                  ) -> Iterator[None]:
    """What Pillow raises in the block, about the picture ``name``, as an ImageRefused naming it (for
    work on an image already open, such as an upload's EXIF turn)."""
    try:
        yield
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        count = _PILLOW_COUNT.search(str(exc))
        if limits is None or count is None:
            raise ImageRefused(f"{name}: the picture is too large to decode ({exc})", "too_large") from exc
        raise _too_large(name, f"{int(count.group(1)):,} pixels", limits.max_pixels, "max_pixels") from exc
    except FileNotFoundError as exc:
        raise ImageRefused(f"{name}: no such file", "unreadable") from exc
    except IsADirectoryError as exc:
        raise ImageRefused(f"{name}: is a directory, not a picture", "unreadable") from exc
    except UnidentifiedImageError as exc:  # before OSError, its base
        raise ImageRefused(f"{name}: not a picture Pillow can read (give a {' or '.join(formats or ('PNG', 'JPEG'))} "
                           "file)", "not_image") from exc
    except PermissionError as exc:
        raise ImageRefused(f"{name}: cannot read the file ({exc.strerror})", "unreadable") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow reports a broken file with any of these
        raise ImageRefused(f"{name}: the picture does not decode ({exc})", "undecodable") from exc


def save_format(path: str | os.PathLike) -> str:
    """Pillow's format for a picture to be written to ``path``, by its suffix (any case); another suffix
    is a NetaError, so a ``.txt`` never holds PNG bytes."""
    Image.init()  # Image.SAVE lists the formats this Pillow was built to write
    writable = {suffix: fmt for suffix, fmt in WRITABLE.items() if fmt in Image.SAVE}
    suffix = Path(path).suffix.lower()
    if suffix not in writable:
        raise NetaError(f"{path}: {'the suffix ' + suffix if suffix else 'no suffix'} names no picture format "
                        f"neta writes; give a file ending in {', '.join(writable)}")
    return writable[suffix]
