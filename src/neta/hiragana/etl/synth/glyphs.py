"""Glyph sources: KanjiVG's stroke paths (hiragana) and font renders (IPAexGothic for kanji; hiragana of
the ``font`` writers from IPAexGothic or a handwriting font, see :mod:`.handfonts`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from neta.fonts import ipaexgothic_path

SVG_SIZE = 109.0  # KanjiVG's viewBox

_TOKEN = re.compile(r"[MmCcSsLlZzHhVv]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PATH = re.compile(r'<path[^>]*\sd="([^"]+)"')


def kanjivg_dir() -> Path | None:
    """Folder of KanjiVG's SVG files from the installed ``kanjivg`` package, or None."""
    try:
        dist = metadata.distribution("kanjivg")
    except metadata.PackageNotFoundError:
        return None
    folder = Path(dist.locate_file("kanji"))
    return folder if (folder / "03042.svg").is_file() else None


def parse_path(d: str) -> np.ndarray:
    """SVG path data (M, C, S, L and lower-case forms) -> (K, 4, 2) cubic Bézier segments."""
    tokens = _TOKEN.findall(d)
    segments: list[np.ndarray] = []
    pos = np.zeros(2)
    start = np.zeros(2)
    last_ctrl = None
    cmd = None
    i = 0

    def take(points):
        nonlocal i
        vals = np.array([float(t) for t in tokens[i : i + 2 * points]])
        i += 2 * points
        return vals.reshape(-1, 2)

    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                if not np.allclose(pos, start):
                    segments.append(np.array([pos, pos, start, start]))
                pos = start.copy()
                continue
        rel = cmd.islower()
        base = pos if rel else np.zeros(2)
        c = cmd.upper()
        if c == "M":
            pos = take(1)[0] + base
            start = pos.copy()
            cmd = "l" if rel else "L"  # further pairs after M are line-tos
            last_ctrl = None
        elif c == "L":
            end = take(1)[0] + base
            segments.append(np.array([pos, pos + (end - pos) / 3, pos + 2 * (end - pos) / 3, end]))
            pos, last_ctrl = end, None
        elif c == "C":
            p1, p2, end = take(3) + base
            segments.append(np.array([pos, p1, p2, end]))
            pos, last_ctrl = end, p2
        elif c == "S":
            p2, end = take(2) + base
            p1 = pos if last_ctrl is None else 2 * pos - last_ctrl
            segments.append(np.array([pos, p1, p2, end]))
            pos, last_ctrl = end, p2
        else:  # H/V never occur in KanjiVG; skip their argument rather than misread the path
            i += 1
    return np.array(segments, dtype=np.float64).reshape(-1, 4, 2)


def load_strokes(folder: Path, char: str) -> list[np.ndarray]:
    """The strokes of `char` as lists of cubic segments, in drawing order."""
    svg = (folder / f"{ord(char):05x}.svg").read_text(encoding="utf-8")
    return [parse_path(d) for d in _PATH.findall(svg)]


def _bezier(segments: np.ndarray, samples: int = 10) -> np.ndarray:
    t = np.linspace(0.0, 1.0, samples)[:, None]
    b = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=1)  # (S, 4, 1)
    pts = np.einsum("sk,nkd->nsd", b[..., 0], segments)  # (K, S, 2)
    return np.concatenate([pts[0, :1], pts[:, 1:].reshape(-1, 2)])


# --- glyphs: body strokes and their (semi-)voiced marks ----------------------------------------


@dataclass(frozen=True)
class Glyph:
    """A hiragana as KanjiVG strokes, its dakuten/handakuten taken apart so each writer redraws them."""

    body: list[np.ndarray]  # cubic segments (K, 4, 2) per stroke
    mark: str | None  # "dakuten", "handakuten" or None
    anchor: np.ndarray  # (2,) centre of KanjiVG's marks, units (unused without a mark)


def split_marks(char: str, strokes: list[np.ndarray]) -> Glyph:
    """KanjiVG draws the marks last: two ticks (dakuten) or one circle (handakuten)."""
    decomposed = unicodedata.normalize("NFD", char)
    mark, n = (None, 0)
    if "\u3099" in decomposed:
        mark, n = "dakuten", 2
    elif "\u309a" in decomposed:
        mark, n = "handakuten", 1
    if mark is None or len(strokes) <= n:
        return Glyph(body=strokes, mark=None, anchor=np.zeros(2))
    anchor = np.concatenate([s.reshape(-1, 2) for s in strokes[-n:]]).mean(axis=0)
    return Glyph(body=strokes[:-n], mark=mark, anchor=anchor)


# --- font glyphs (kanji, and hiragana without KanjiVG) -----------------------------------------


def glyph_templates(
    chars: list[str], files: list[Path] | None = None, size: float = 100.0, oversample: int = 1
) -> np.ndarray:
    """(N, 127 * oversample, 128 * oversample) float glyph images 0..1, ink high, each centred on the canvas.

    ``files`` names each character's font file (a Fontsource family spreads its glyphs over several);
    None draws every one from IPAexGothic. ``size`` is in pixels of the 128 x 127 canvas.
    """
    files = [ipaexgothic_path()] * len(chars) if files is None else files
    width, height = 128 * oversample, 127 * oversample
    fonts: dict[Path, ImageFont.FreeTypeFont] = {}
    out = np.zeros((len(chars), height, width), dtype=np.float32)
    for i, (char, file) in enumerate(zip(chars, files, strict=True)):
        if file not in fonts:
            fonts[file] = ImageFont.truetype(str(file), size * oversample)
        font = fonts[file]
        img = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(img)
        left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
        draw.text(
            ((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top), char, fill=255, font=font
        )
        out[i] = np.asarray(img, dtype=np.float32) / 255.0
    return out


def glyph_extent(chars: list[str], files: list[Path] | None = None) -> float:
    """Median ink size (larger of width and height) of the characters at 100 px: fonts differ in how
    much of the em square their glyphs fill, and a writer's size should not depend on the font."""
    files = [ipaexgothic_path()] * len(chars) if files is None else files
    fonts = {file: ImageFont.truetype(str(file), 100) for file in set(files)}
    sizes = []
    for char, file in zip(chars, files, strict=True):
        box = fonts[file].getmask(char).getbbox()
        if box is not None:
            sizes.append(max(box[2] - box[0], box[3] - box[1]))
    return float(np.median(sizes)) if sizes else 100.0
