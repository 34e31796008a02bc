"""The writer's hand and pen: its smooth deformation and affine placement, and a stroke as a pen line.

Lines are in KanjiVG units; their widths are multiples of the writer's pen width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neta.hiragana.etl.synth.glyphs import SVG_SIZE, _bezier
from neta.hiragana.etl.synth.styles import WriterStyle


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


def _connector(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> _Line:
    """A cursive hairline from one stroke's end to the next stroke's start, bowed a little."""
    d = b - a
    t = np.linspace(0.0, 1.0, 8)[:, None]
    bow = np.array([-d[1], d[0]]) * rng.normal(0.0, 0.15)
    return _Line(a + t * d + 4 * t * (1 - t) * bow, np.full(8, 0.4))
