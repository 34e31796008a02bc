"""SYNTHETIC, format-exact ETL8G files: a stand-in for the real AIST ETL database.

The real ETL database is distributed by AIST only after registration, so the default neta run
cannot download it. This module writes files with exactly the ETL8G record layout (8199-byte
records, 128 x 127 images at 4 bits, JIS X 0208 codes, serial sheet number = writer), 5 writers x
956 characters per file (``ETL8G_01``, ``ETL8G_02``, ...), so the reader, the converter and the
model see the same bytes they would see with the real files. Nothing here is real handwriting.

The 956 characters of a sheet are 75 hiragana (:data:`neta.hiragana.etl.jis.HIRAGANA_75`) and 881 kanji, in
ascending JIS code order, so the hiragana come first. We could not find the real sheet order nor the
real ETL8 kanji list (the 881 "education kanji" of 1958) in a public source we could read; the kanji
are a deterministic stand-in: 881 JIS level-1 kanji evenly spaced in code order over 0x3021..0x4F43,
the code range AIST gives for ETL8. The reading field holds ``"<romaji>.HIRA"`` for hiragana (the
convention the real files use) and ``"KANJI"`` for kanji (no reading data is at hand).

Hiragana are drawn as pen strokes from KanjiVG's stroke paths (the ``kanjivg`` package on PyPI,
CC BY-SA 3.0, © Ulrich Apel and the KanjiVG contributors; read at run time, never copied into this
repository, and no render is committed). Each writer belongs to one style family (:data:`FAMILIES`:
ballpoint, felt marker, brush with pressure and tome/hane/harai stroke ends, light grainy pencil,
fast cursive with strong deformation and joined strokes, or the IPAexGothic typeface warped like
handwriting), chosen by :func:`writer_family` from (seed, writer index) and recorded in
:data:`WRITERS_TABLE` beside the files. Within its family a writer has its own slant, rotation,
size and aspect, position, pen width, ink darkness, smooth deformation field, control-point wobble
and curvature noise, and its own way of writing the (semi-)voiced marks: KanjiVG's marks are taken
off and redrawn as two ticks of varying length, angle and gap, or an imperfect, sometimes open or
filled circle, at a writer's own size and distance from the body. Each sample adds its own jitter,
so writers differ the way people do and a writer-disjoint split is a real test; whole families can
be kept out of training (``hiragana.synth.heldout_families``) for a held-out-style test. Without
KanjiVG every writer uses the font. Kanji are cheaper: font glyphs rendered once, then warped per
sample with a small affine transform (one batched ``grid_sample`` per writer), thickened or thinned
to the writer's pen.
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from neta.atomic import write_text
from neta.errors import NetaError
from neta.fonts import ipaexgothic_path
from neta.hiragana.etl.formats import EtlFormat, get_format
from neta.hiragana.etl.jis import HIRAGANA_75, char_to_jis0208, decode_codes
from neta.hiragana.etl.writer import build_records, write_etl_file

log = logging.getLogger(__name__)

N_KANJI = 881
KANJI_CODE_RANGE = (0x3021, 0x4F43)
CHARS_PER_WRITER = 956
WRITERS_PER_FILE = 5  # as in the real ETL8G_01 .. ETL8G_33
SVG_SIZE = 109.0  # KanjiVG's viewBox
_SUPERSAMPLE = 2


# --- the character sheet ----------------------------------------------------------------------


def etl8_kanji_codes() -> np.ndarray:
    """881 JIS level-1 kanji codes, evenly spaced in code order (a documented stand-in)."""
    lo, hi = KANJI_CODE_RANGE
    candidates = np.array(
        [(r << 8) | c for r in range(lo >> 8, (hi >> 8) + 1) for c in range(0x21, 0x7F) if lo <= ((r << 8) | c) <= hi]
    )
    try:
        decode_codes(candidates, "jis0208")
        valid = candidates
    except NetaError:
        # Row 0x4F ends at 0x4F53; every code up to 0x4F43 is assigned, but stay safe if not.
        valid = np.array([c for c in candidates if _decodes(c)])
    pick = np.round(np.linspace(0, len(valid) - 1, N_KANJI)).astype(int)
    return valid[pick].astype(np.uint16)


def _decodes(code: int) -> bool:
    try:
        decode_codes(np.array([code]), "jis0208")
        return True
    except NetaError:
        return False


def sheet_codes() -> np.ndarray:
    """The 956 codes one writer fills, in sheet order (ascending JIS code)."""
    hira = np.array([char_to_jis0208(c) for c in HIRAGANA_75], dtype=np.uint16)
    codes = np.sort(np.concatenate([hira, etl8_kanji_codes()]))
    assert codes.size == CHARS_PER_WRITER
    return codes


def reading_of(char: str) -> bytes:
    """The ETL8 'typical reading' field: "KA.HIRA" for か, "XTU.HIRA" for small っ, "KANJI" otherwise."""
    name = unicodedata.name(char, "")
    if name.startswith("HIRAGANA LETTER "):
        sound = name[len("HIRAGANA LETTER ") :]
        sound = "X" + sound[len("SMALL ") :] if sound.startswith("SMALL ") else sound
        return f"{sound}.HIRA".encode("ascii")[:8]
    return b"KANJI"


# --- KanjiVG strokes ----------------------------------------------------------------------------

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


# --- writer style families ---------------------------------------------------------------------

# Each writer uses one pen and one way of writing. A family fixes the kind (ballpoint, felt marker,
# brush with pressure and tome/hane/harai ends, light grainy pencil, fast cursive, or the IPAexGothic
# typeface warped like handwriting); the writer draws the family's parameters from its ranges. The
# held-out-style protocol trains on some families and tests on writers of the others only.
FAMILIES = ("ballpoint", "marker", "brush", "pencil", "cursive", "font")
# Writer ids of held-out-style sets start here, far from any training set's 1..1000, so a held-out
# writer is never one of the training writers (the ETL sheet field is 16-bit).
HELDOUT_WRITER_BASE = 50_000
_FAMILY_STREAM = 1 << 21  # seed stream of the family rotation, apart from the writers' own streams
WRITERS_TABLE = "SYNTH_WRITERS.csv"  # beside the ETL files: writer id -> family (ignored by the reader)

# (low, high) ranges a writer draws from, by family; missing keys take _COMMON's range.
_COMMON = {
    "slant": (-0.25, 0.25),
    "rotation_deg": (-5.0, 5.0),
    "scale": (0.62, 1.0),
    "aspect": (0.85, 1.18),
    "offset": (-5.0, 5.0),
    "pen": (2.4, 4.6),
    "ink": (10.5, 15.0),
    "wobble": (0.6, 2.0),
    "field_amp": (0.8, 3.0),
    "bend": (0.0, 1.5),
    "pressure": (0.0, 0.15),
    "harai": (0.0, 0.1),
    "hane": (0.0, 0.05),
    "grain": (0.0, 0.0),
    "connect": (0.0, 0.0),
    "noise": (0.0, 0.02),
    "mark_scale": (1.0, 1.6),
    "ring_fill": (0.0, 0.0),
}
_FAMILY_RANGES = {
    "ballpoint": {"pen": (2.0, 3.6), "wobble": (0.6, 1.8)},
    "marker": {"pen": (4.6, 7.2), "ink": (13.0, 15.0), "wobble": (0.5, 1.5), "ring_fill": (0.0, 0.1)},
    "brush": {
        "pen": (3.6, 6.4), "pressure": (0.35, 0.7), "harai": (0.35, 0.8), "hane": (0.2, 0.5),
        "ink": (12.5, 15.0), "wobble": (0.5, 1.5),
    },
    "pencil": {"pen": (1.8, 3.2), "ink": (5.5, 9.5), "grain": (0.25, 0.6), "wobble": (0.8, 2.0), "noise": (0.0, 0.04)},
    "cursive": {
        "slant": (-0.1, 0.4), "rotation_deg": (-8.0, 6.0), "wobble": (1.5, 3.0), "field_amp": (2.0, 4.5),
        "bend": (1.2, 3.5), "connect": (0.3, 0.8), "pressure": (0.0, 0.3), "harai": (0.1, 0.4),
        "aspect": (0.75, 1.3), "ring_fill": (0.0, 0.08),
    },
    "font": {"wobble": (0.0, 0.0), "field_amp": (0.5, 2.0), "slant": (-0.15, 0.15)},
}


@dataclass(frozen=True)
class WriterStyle:
    family: str
    slant: float  # shear x += slant * y
    rotation: float  # radians
    scale_x: float
    scale_y: float
    offset: tuple[float, float]  # pixels at 128 x 127
    pen: float  # pen width in pixels at 128 x 127
    ink: float  # level of a fully inked pixel, <= 15
    wobble: float  # control-point noise, KanjiVG units
    field_amp: float  # smooth deformation amplitude, KanjiVG units
    field_freq: np.ndarray  # (3, 2) wave vectors of the deformation field
    field_phase: np.ndarray  # (3, 2)
    bend: float  # curvature noise: a stroke's middle bows sideways by up to this many units
    pressure: float  # how much the width swells and thins along a stroke (brush: large)
    harai: float  # probability that a stroke ends in a tapering sweep
    hane: float  # probability that a stroke ends in a short flick
    grain: float  # pencil: fraction of a stroke's ink the paper's grain may take away
    connect: float  # cursive: probability of a hairline joining a stroke to the next
    noise: float  # probability of a background speck
    mark_scale: float  # dakuten/handakuten size relative to KanjiVG's (people write them larger)
    mark_shift: tuple[float, float]  # where the writer puts marks relative to KanjiVG's, units
    tick_len: float  # dakuten tick length, units
    tick_angle: float  # dakuten tick direction, radians (y down: positive points down-right)
    tick_gap: float  # distance between the two ticks, units
    tick_sep: float  # direction from the first tick to the second, radians
    ring_radius: float  # handakuten radius, units
    ring_aspect: float  # handakuten width / height
    ring_open: float  # how much of the circle a quick hand may leave open (fraction of a turn)
    ring_fill: float  # probability that the handakuten is a filled dot
    gender: int
    age: int


def check_families(names, key: str) -> tuple[str, ...]:
    """``names`` as a tuple of known family names; an unknown one is an error naming ``key``."""
    names = tuple(names)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise NetaError(f"{key}: unknown writer style famil(y/ies) {unknown}; known: {', '.join(FAMILIES)}")
    return names


def training_families(heldout) -> tuple[str, ...]:
    """The families training writers use: all but the held-out ones."""
    heldout = check_families(heldout, "hiragana.synth.heldout_families")
    train = tuple(f for f in FAMILIES if f not in heldout)
    if not train:
        raise NetaError("hiragana.synth.heldout_families: holds out every family; leave at least one for training")
    return train


def writer_family(seed: int, index: int, families) -> str:
    """The style family of writer ``index`` (0-based) among ``families``, deterministic in (seed, index).

    Families are taken in turn from a seeded start, so even a run of a few writers has each family
    in equal share (a random draw could leave one out of a 40-writer run).
    """
    families = check_families(families, "families")
    if not families:
        raise NetaError("writer_family: no families to choose from")
    start = int(np.random.default_rng([seed, _FAMILY_STREAM]).integers(len(families)))
    return families[(index + start) % len(families)]


def writer_style(rng: np.random.Generator, family: str = "ballpoint") -> WriterStyle:
    ranges = {**_COMMON, **_FAMILY_RANGES[family]}

    def u(name: str) -> float:
        lo, hi = ranges[name]
        return float(rng.uniform(lo, hi))

    scale, aspect = u("scale"), u("aspect")
    return WriterStyle(
        family=family,
        slant=u("slant"),
        rotation=float(np.deg2rad(u("rotation_deg"))),
        scale_x=scale * np.sqrt(aspect),
        scale_y=scale / np.sqrt(aspect),
        offset=(u("offset"), u("offset")),
        pen=u("pen"),
        ink=u("ink"),
        wobble=u("wobble"),
        field_amp=u("field_amp"),
        field_freq=rng.normal(0.0, 1.0, (3, 2)) * (2 * np.pi / SVG_SIZE) * 1.2,
        field_phase=rng.uniform(0, 2 * np.pi, (3, 2)),
        bend=u("bend"),
        pressure=u("pressure"),
        harai=u("harai"),
        hane=u("hane"),
        grain=u("grain"),
        connect=u("connect"),
        noise=u("noise"),
        mark_scale=u("mark_scale"),
        mark_shift=(float(rng.normal(1.0, 2.5)), float(rng.normal(-0.5, 2.5))),
        tick_len=float(rng.uniform(7.0, 11.0)),
        tick_angle=float(rng.uniform(0.55, 1.35)),
        tick_gap=float(rng.uniform(5.0, 10.0)),
        tick_sep=float(rng.uniform(-0.9, -0.15)),
        ring_radius=float(rng.uniform(6.0, 10.0)),
        ring_aspect=float(rng.uniform(0.8, 1.25)),
        ring_open=float(rng.uniform(0.0, 0.25)),
        ring_fill=u("ring_fill"),
        gender=int(rng.integers(1, 3)),
        age=int(rng.integers(16, 66)),
    )


def _deform(points: np.ndarray, style: WriterStyle) -> np.ndarray:
    """The writer's smooth displacement field: a sum of three low-frequency waves per axis."""
    phase = points @ style.field_freq.T  # (P, 3)
    disp = np.stack(
        [np.sin(phase + style.field_phase[:, 0]).sum(1), np.sin(phase + style.field_phase[:, 1]).sum(1)], axis=1
    )
    return points + style.field_amp / np.sqrt(3) * disp


def _affine(style: WriterStyle, rng: np.random.Generator, jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """2x2 matrix and offset mapping KanjiVG units (centred) to pixels, with per-sample jitter."""
    rot = style.rotation + np.deg2rad(rng.normal(0.0, 2.5 * jitter))
    sx = style.scale_x * (1 + rng.normal(0.0, 0.08 * jitter))
    sy = style.scale_y * (1 + rng.normal(0.0, 0.08 * jitter))
    shear = style.slant + rng.normal(0.0, 0.05 * jitter)
    cos, sin = np.cos(rot), np.sin(rot)
    unit = 128.0 / SVG_SIZE
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy]) * unit
    offset = np.array([64.0, 63.5]) + np.array(style.offset) + rng.normal(0.0, 5.0 * jitter, 2)
    return matrix, offset


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


@dataclass
class _Line:
    points: np.ndarray  # (P, 2) KanjiVG units
    widths: np.ndarray  # (P,) multiples of the writer's pen
    filled: bool = False  # a closed, filled polygon (a handakuten written as a dot)


def _body_line(segments: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> _Line:
    # A hand wobbles in proportion to the stroke: a short stroke keeps its shape where a long
    # sweep may bend by several units.
    extent = float(np.ptp(segments.reshape(-1, 2), axis=0).max())
    amount = style.wobble * float(np.clip(extent / 40.0, 0.15, 1.0))
    wobbly = segments + rng.normal(0.0, amount, segments.shape) if amount > 0 else segments.copy()
    wobbly[:, 0] = segments[:, 0]  # keep segments joined: move control points, not knots...
    wobbly[1:, 0] = wobbly[:-1, 3]  # ...except where the previous segment's end moved
    wobbly += rng.normal(0.0, max(style.wobble, 0.3) * 0.6 * max(amount / max(style.wobble, 1e-6), 0.5), 2)
    pts = _bezier(wobbly)
    n = len(pts)
    t = np.linspace(0.0, 1.0, n)
    # curvature noise: the stroke's middle bows sideways, as a quick hand rounds a straight line
    if style.bend > 0 and n > 2:
        tangent = np.gradient(pts, axis=0)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
        bow = rng.normal(0.0, style.bend) * np.clip(extent / 40.0, 0.2, 1.0)
        pts = pts + normal * (bow * np.sin(np.pi * t))[:, None]
    # a fast hand stops short of or overshoots the end of a stroke
    if style.family == "cursive" and n > 3:
        stretch = rng.uniform(-0.12, 0.12)
        pts = np.concatenate([pts[:-1], pts[-1:] + (pts[-1] - pts[-2]) * stretch * n / 2])
    # pressure along the stroke: pressed in at the start, swelling and thinning on the way
    widths = 1.0 + style.pressure * (
        0.6 * np.exp(-((t / 0.12) ** 2)) + 0.4 * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5) + rng.uniform(0, 6.3))
    )
    end = rng.random()
    if end < style.harai:  # harai: the brush lifts while it moves, the end tapers off
        fade = np.clip((t - 0.6) / 0.4, 0.0, 1.0)
        widths = widths * (1.0 - 0.85 * fade)
    elif end < style.harai + style.hane and n > 2:  # hane: a short flick back from the end
        direction = pts[-1] - pts[-2]
        direction /= np.linalg.norm(direction) + 1e-9
        turn = rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 2.6)
        c, s = np.cos(turn), np.sin(turn)
        flick = np.array([[c, -s], [s, c]]) @ direction * rng.uniform(4.0, 9.0)
        tail = pts[-1] + np.linspace(0.0, 1.0, 5)[1:, None] * flick
        pts = np.concatenate([pts, tail])
        widths = np.concatenate([widths, widths[-1] * np.linspace(0.8, 0.2, 4)])
    elif style.pressure > 0.3:  # tome: the brush stops and presses
        widths = widths * (1.0 + 0.3 * np.exp(-(((1 - t) / 0.08) ** 2)))
    return _Line(pts, np.clip(widths, 0.12, 2.0))


def _pen_units(style: WriterStyle) -> float:
    """The writer's pen width in KanjiVG units (the unit the marks are drawn in)."""
    return style.pen * (SVG_SIZE / 128.0) / float(np.sqrt(style.scale_x * style.scale_y))


def _dakuten(anchor: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> list[_Line]:
    """Two short ticks, each with its own length, angle and bow; the gap between them varies."""
    s = style.mark_scale * rng.uniform(0.85, 1.15)
    # however close, a writer keeps two ticks apart: merged into one blob they would read as a dot
    gap = max(style.tick_gap * s * rng.uniform(0.75, 1.25), 1.8 * _pen_units(style))
    sep = style.tick_sep + rng.normal(0.0, 0.2)
    lines = []
    for side in (-0.5, 0.5):
        centre = anchor + side * gap * np.array([np.cos(sep), np.sin(sep)])
        length = style.tick_len * s * rng.uniform(0.7, 1.3)
        angle = style.tick_angle + rng.normal(0.0, 0.2)
        d = np.array([np.cos(angle), np.sin(angle)])
        bow = np.array([-d[1], d[0]]) * rng.normal(0.0, 0.12) * length
        t = np.linspace(-0.5, 0.5, 6)[:, None]
        pts = centre + t * length * d + (1 - 4 * t**2) * bow
        widths = np.linspace(1.0, 1.0 - 0.5 * style.harai, 6) * 0.85
        lines.append(_Line(pts, widths))
    return lines


def _handakuten(anchor: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> list[_Line]:
    """An imperfect circle: squashed, tilted, lumpy, sometimes open or overlapping, sometimes a dot."""
    s = style.mark_scale * rng.uniform(0.85, 1.15)
    # a circle keeps a hole the pen does not fill, else it is a dot that two merged ticks could be
    radius = max(style.ring_radius * s, 1.2 * _pen_units(style) + 2.0)
    if rng.random() < style.ring_fill:
        theta = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
        r = radius * rng.uniform(0.6, 0.8)
        pts = anchor + r * np.stack([np.cos(theta) * style.ring_aspect, np.sin(theta)], axis=1)
        return [_Line(pts, np.full(len(pts), 0.5), filled=True)]
    start = rng.uniform(0.0, 2 * np.pi)
    sweep = 2 * np.pi * rng.uniform(1.0 - style.ring_open, 1.1)
    theta = start + np.linspace(0.0, sweep, 24) * rng.choice([-1.0, 1.0])
    lumpy = 1.0 + rng.normal(0.0, 0.08) * np.cos(2 * theta + rng.uniform(0, 6.3)) + rng.normal(0.0, 0.05) * np.cos(
        3 * theta
    )
    # a pen that closes the loop late spirals a little: the radius drifts over the turn
    drift = np.linspace(0.0, rng.normal(0.0, 0.12), theta.size)
    r = radius * (lumpy + drift)
    tilt = rng.uniform(0.0, np.pi)
    local = np.stack([np.cos(theta) * style.ring_aspect, np.sin(theta)], axis=1) * r[:, None]
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    return [_Line(anchor + local @ rot.T, np.full(theta.size, 0.8))]


def _connector(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> _Line:
    """A cursive hairline from one stroke's end to the next stroke's start, bowed a little."""
    d = b - a
    t = np.linspace(0.0, 1.0, 8)[:, None]
    bow = np.array([-d[1], d[0]]) * rng.normal(0.0, 0.15)
    return _Line(a + t * d + 4 * t * (1 - t) * bow, np.full(8, 0.4))


def glyph_lines(glyph: Glyph, style: WriterStyle, rng: np.random.Generator) -> list[_Line]:
    """The lines one sample of ``glyph`` is drawn with, in KanjiVG units."""
    lines = [_body_line(seg, style, rng) for seg in glyph.body if seg.size]
    if style.connect > 0:
        joined = []
        for i, line in enumerate(lines):
            joined.append(line)
            if i + 1 < len(lines) and rng.random() < style.connect:
                a, b = line.points[-1], lines[i + 1].points[0]
                if np.linalg.norm(b - a) < 60.0:
                    joined.append(_connector(a, b, rng))
        lines = joined
    if glyph.mark is not None:
        anchor = glyph.anchor + np.array(style.mark_shift) + rng.normal(0.0, 1.5, 2)
        draw = _dakuten if glyph.mark == "dakuten" else _handakuten
        lines += draw(anchor, style, rng)
    return lines


def draw_strokes(glyph: Glyph, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """One handwritten sample: (127, 128) float intensities 0..1, ink high."""
    s = _SUPERSAMPLE
    matrix, offset = _affine(style, rng, jitter=1.0)
    centre = SVG_SIZE / 2
    lines = glyph_lines(glyph, style, rng)
    pen_px = style.pen * rng.uniform(0.9, 1.1)
    placed = [(_deform(line.points, style) - centre) @ matrix.T for line in lines]
    # keep the whole character on the sheet's cell: a clipped mark would turn ぱ into は
    low = np.min([p.min(axis=0) for p in placed], axis=0) + offset
    high = np.max([p.max(axis=0) for p in placed], axis=0) + offset
    margin = style.pen / 2 + 1.0
    offset = offset + np.maximum(0.0, margin - low) - np.maximum(0.0, high - (np.array([128.0, 127.0]) - margin))
    canvas = Image.new("L", (128 * s, 127 * s), 0)
    pen = ImageDraw.Draw(canvas)
    for pts, line in zip(placed, lines, strict=True):
        flat = (pts + offset) * s
        if line.filled:
            pen.polygon([tuple(p) for p in flat], fill=255)
            continue
        widths = np.maximum(1.0, line.widths * pen_px * s)
        if np.ptp(widths) < 0.5:  # constant width: one polyline call, round joints
            points = [tuple(p) for p in flat]
            pen.line(points, fill=255, width=int(round(widths[0])), joint="curve")
            tips = (flat[0], flat[-1])
            radii = (widths[0] / 2, widths[0] / 2)
        else:  # varying width: segment by segment, a disc at every knot keeps the joins round
            for a, b, w in zip(flat[:-1], flat[1:], widths[:-1], strict=True):
                pen.line([tuple(a), tuple(b)], fill=255, width=int(round(w)))
            tips, radii = flat, widths / 2
        for (x, y), r in zip(tips, radii, strict=True):
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    img = np.asarray(canvas, dtype=np.float32) / 255.0
    img = img.reshape(127, s, 128, s).mean(axis=(1, 3))
    if style.grain > 0:  # pencil: graphite sits on the paper's ridges, so ink comes out patchy
        img = img * (1.0 - style.grain * rng.random(img.shape, dtype=np.float32))
    return img


# --- font glyphs (kanji, and hiragana without KanjiVG) -----------------------------------------


def glyph_templates(chars: list[str]) -> np.ndarray:
    """(N, 127, 128) float glyph images 0..1, ink high, each centred on the canvas."""
    font = ImageFont.truetype(str(ipaexgothic_path()), 100)
    out = np.zeros((len(chars), 127, 128), dtype=np.float32)
    for i, char in enumerate(chars):
        img = Image.new("L", (128, 127), 0)
        draw = ImageDraw.Draw(img)
        left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
        draw.text(((128 - (right - left)) / 2 - left, (127 - (bottom - top)) / 2 - top), char, fill=255, font=font)
        out[i] = np.asarray(img, dtype=np.float32) / 255.0
    return out


def pen_variants(templates: np.ndarray) -> np.ndarray:
    """(3, N, H, W) uint8 copies of the templates drawn with a thin, the normal and a thick pen.

    Made once per synthesis so each writer only picks one: a max filter thickens, a min filter
    blended with the original thins.
    """
    src = torch.from_numpy(templates)[:, None]
    thick = F.max_pool2d(src, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-src, 3, stride=1, padding=1) * 0.6 + src * 0.4
    stack = torch.stack([thin, src, thick])[:, :, 0]
    return (stack.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _pen_index(style: WriterStyle) -> int:
    return 0 if style.pen < 3.2 else (2 if style.pen > 4.6 else 1)


def _theta(style: WriterStyle, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """affine_grid's (2, 3) matrix for one warp of a pixel-sized, centred glyph."""
    matrix, offset = _affine(style, rng, jitter)
    half = np.diag([64.0, 63.5])  # normalised [-1, 1] grid units -> pixels (align_corners=False)
    # the glyphs already have pixel size: strip the KanjiVG unit and centre the mean scale on 1
    a_inv = np.linalg.inv(matrix / (128.0 / SVG_SIZE) / 0.85)
    shift = offset - np.array([64.0, 63.5])
    theta = np.zeros((2, 3), dtype=np.float32)
    # affine_grid maps each output location to where it samples the input, so invert the warp
    theta[:, :2] = np.linalg.inv(half) @ a_inv @ half
    theta[:, 2] = -np.linalg.inv(half) @ a_inv @ shift
    return theta


def warp_glyphs(
    templates: np.ndarray, style: WriterStyle, rng: np.random.Generator, *, per_sample: bool, elastic: float
) -> np.ndarray:
    """Warp uint8 templates (N, H, W) with the writer's affine (+ smooth field scaled by `elastic`).

    ``per_sample`` draws a fresh affine jitter for every glyph (hiragana fallback); otherwise one
    writer-level warp is shared and each glyph only moves by a few whole pixels (kanji: cheap).
    """
    n = templates.shape[0]
    src = torch.from_numpy(templates)[:, None].float().div_(255.0)
    if per_sample:
        thetas = np.stack([_theta(style, rng, 1.0) for _ in range(n)])
    else:
        thetas = _theta(style, rng, 0.3)[None]
    grid = F.affine_grid(torch.from_numpy(thetas), [len(thetas), 1, 127, 128], align_corners=False)
    if elastic > 0:
        coords = grid.numpy().reshape(-1, 2) * (SVG_SIZE / 2)
        moved = (_deform(coords, style) - coords) * elastic / (SVG_SIZE / 2)
        grid = grid + torch.from_numpy(moved.astype(np.float32)).reshape(grid.shape)
    out = F.grid_sample(src, grid.expand(n, -1, -1, -1), mode="bilinear", padding_mode="zeros", align_corners=False)
    out = out[:, 0].numpy()
    if not per_sample:
        shifts = rng.integers(-4, 5, size=(n, 2))
        for i, (dy, dx) in enumerate(shifts):
            out[i] = np.roll(out[i], (dy, dx), axis=(0, 1))
    return out


# --- levels and records ------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperNoise:
    """A bank of scanner-noise images, drawn once per synthesis and picked at random per sample."""

    jitter: np.ndarray  # (B, H, W) int8 level offsets, mostly 0 and +-1
    speck_rank: np.ndarray  # (B, H, W) uint8 uniform; a speck where rank < writer's noise * 256
    speck_level: np.ndarray  # (B, H, W) int8 1..4


def paper_noise(rng: np.random.Generator, bank: int = 256) -> PaperNoise:
    shape = (bank, 127, 128)
    return PaperNoise(
        jitter=np.rint(rng.normal(0.0, 0.35, shape)).astype(np.int8),
        speck_rank=rng.integers(0, 256, shape, dtype=np.uint8),
        speck_level=rng.integers(1, 5, shape, dtype=np.int8),
    )


def to_levels(intensity: np.ndarray, style: WriterStyle, rng: np.random.Generator, noise: PaperNoise) -> np.ndarray:
    """0..1 ink intensity -> 4-bit scanner levels with the writer's ink and paper noise."""
    pick = rng.integers(0, noise.jitter.shape[0], intensity.shape[0])
    levels = np.rint(intensity * style.ink).astype(np.int8)
    levels += noise.jitter[pick]
    specks = noise.speck_rank[pick] < int(style.noise * 256)
    levels += np.where(specks, noise.speck_level[pick], np.int8(0))
    return np.clip(levels, 0, 15).astype(np.uint8)


def synth_writer(
    writer_index: int,
    seed: int,
    codes: np.ndarray,
    hira_mask: np.ndarray,
    glyphs: dict[str, Glyph] | None,
    hira_templates: np.ndarray,
    kanji_pens: np.ndarray,
    noise: PaperNoise,
    family: str,
) -> tuple[np.ndarray, WriterStyle]:
    """(956, 127, 128) uint8 levels for one writer of ``family``, deterministic in (seed, writer_index)."""
    rng = np.random.default_rng([seed, writer_index])
    style = writer_style(rng, family)
    intensity = np.zeros((codes.size, 127, 128), dtype=np.float32)
    hira_chars = decode_codes(codes[hira_mask], "jis0208")
    if glyphs is not None and family != "font":
        for row, char in zip(np.flatnonzero(hira_mask), hira_chars, strict=True):
            intensity[row] = draw_strokes(glyphs[char], style, rng)
    else:
        intensity[hira_mask] = warp_glyphs(hira_templates[_pen_index(style)], style, rng, per_sample=True, elastic=1.0)
    intensity[~hira_mask] = warp_glyphs(kanji_pens[_pen_index(style)], style, rng, per_sample=False, elastic=0.0)
    return to_levels(np.clip(intensity, 0.0, 1.0), style, rng, noise), style


def synth_etl(
    out_dir: str | os.PathLike,
    *,
    fmt: str,
    writers: int,
    seed: int,
    families=FAMILIES,
    first_writer: int = 0,
    writers_per_file: int = WRITERS_PER_FILE,
) -> list[Path]:
    """Write SYNTHETIC ETL8G files (stand-in for the real database) to `out_dir`; return their paths.

    Writer ``first_writer + i`` (0-based; its ETL id is one more) belongs to
    ``writer_family(seed, first_writer + i, families)``; the table :data:`WRITERS_TABLE` beside the
    files records it. A held-out-style set passes the held-out families and
    :data:`HELDOUT_WRITER_BASE` so none of its writers is a training writer.
    ``writers_per_file`` is the real files' layout, not a setting; tests lower it to make small files.
    """
    started = time.perf_counter()
    etl = get_format(fmt)
    if etl.name != "ETL8G":
        raise NetaError(f"synthetic data is made for ETL8G only, not {etl.name}; use --format ETL8G")
    if writers < 1 or writers_per_file < 1:
        raise NetaError(f"writers ({writers}) and writers_per_file ({writers_per_file}) must be at least 1")
    families = check_families(families, "families")
    if first_writer < 0 or first_writer + writers >= 1 << 16:
        raise NetaError(
            f"writer ids {first_writer + 1}..{first_writer + writers} do not fit ETL8G's 16-bit sheet field"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    codes = sheet_codes()
    chars = decode_codes(codes, "jis0208")
    hira_mask = np.isin(chars, np.asarray(HIRAGANA_75))
    folder = kanjivg_dir()
    if folder is not None:
        glyphs = {c: split_marks(c, load_strokes(folder, c)) for c in chars[hira_mask]}
        log.info("hiragana drawn from KanjiVG strokes in %s (CC BY-SA 3.0)", folder)
    else:
        glyphs = None
        log.warning("kanjivg package not installed: hiragana rendered from the IPAexGothic font with distortions")
    hira_templates = pen_variants(glyph_templates(list(chars[hira_mask])))
    kanji_pens = pen_variants(glyph_templates(list(chars[~hira_mask])))
    noise = paper_noise(np.random.default_rng([seed, 1 << 20]))
    readings = np.array([reading_of(c) for c in chars], dtype="S8")

    n_files = -(-writers // writers_per_file)
    written: list[Path] = []
    table = ["writer,family"]
    serial = 1
    bar = tqdm(total=writers, desc="synth ETL8G writers", unit="writer", leave=False)
    for f in range(n_files):
        first = first_writer + f * writers_per_file
        ids = range(first, min(first_writer + writers, first + writers_per_file))
        images, metas = [], []
        for w in ids:
            family = writer_family(seed, w, families)
            levels, style = synth_writer(
                w, seed, codes, hira_mask, glyphs, hira_templates, kanji_pens, noise, family
            )
            images.append(levels)
            metas.append(_writer_fields(w, style, readings, serial))
            table.append(f"{w + 1},{family}")
            serial += codes.size
            bar.update(1)
        n = len(images)
        fields = {k: np.concatenate([m[k] for m in metas]) for k in metas[0]}
        records = build_records(
            etl,
            np.tile(codes, n),
            np.repeat(np.array([w + 1 for w in ids], dtype=np.int32), codes.size),
            np.concatenate(images),
            fields,
        )
        written.append(write_etl_file(out_dir / f"ETL8G_{f + 1:02d}", etl, records))
    bar.close()
    _remove_stale(out_dir, etl, written)
    write_text(out_dir / WRITERS_TABLE, "\n".join(table) + "\n")
    log.info(
        "synth_etl: %d writers (%d records; families %s) in %d SYNTHETIC ETL8G files in %s, %.1f s",
        writers,
        writers * codes.size,
        ", ".join(families),
        len(written),
        out_dir,
        time.perf_counter() - started,
    )
    return written


def read_writer_families(etl_dir: str | os.PathLike) -> dict[int, str]:
    """Writer id -> style family from a synthetic set's :data:`WRITERS_TABLE`; {} for real ETL files."""
    path = Path(etl_dir) / WRITERS_TABLE
    if not path.is_file():
        return {}
    rows = path.read_text(encoding="utf-8").split()[1:]
    try:
        return {int(w): fam for w, fam in (row.split(",") for row in rows)}
    except ValueError as exc:
        raise NetaError(f"{path}: malformed writer table ({exc}); rerun `neta etl synth`") from exc


def _writer_fields(w: int, style: WriterStyle, readings: np.ndarray, serial: int) -> dict[str, np.ndarray]:
    n = readings.size
    pos = np.arange(n)
    rng = np.random.default_rng([w, 7])
    return {
        "reading": readings,
        "serial": serial + pos,
        "eval_char": np.zeros(n, np.uint8),
        "eval_group": np.zeros(n, np.uint8),
        "gender": np.full(n, style.gender, np.uint8),
        "age": np.full(n, style.age, np.uint8),
        "industry": np.full(n, int(rng.integers(1, 20)), np.uint16),
        "occupation": np.full(n, int(rng.integers(1, 80)), np.uint16),
        "gather_date": np.full(n, 7400 + int(rng.integers(1, 13)), np.uint16),
        "scan_date": np.full(n, 7500 + int(rng.integers(1, 13)), np.uint16),
        "pos_x": (pos % 10).astype(np.uint8),
        "pos_y": ((pos // 10) % 10).astype(np.uint8),
    }


def _remove_stale(out_dir: Path, etl: EtlFormat, written: list[Path]) -> None:
    """Drop ETL8G files of an earlier, larger synthesis so the directory holds this run only."""
    keep = {p.name for p in written}
    for path in out_dir.iterdir():
        if path.is_file() and etl.matches(path.name) and path.name not in keep:
            log.warning("removing stale synthetic file %s", path)
            path.unlink()
