"""The (semi-)voiced marks, redrawn in each writer's own way: dakuten ticks and the handakuten circle."""

from __future__ import annotations

import numpy as np

from neta.hiragana.etl.synth.pen import _Line, _pen_units
from neta.hiragana.etl.synth.styles import WriterStyle


def _dakuten(anchor: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> list[_Line]:
    """Two short ticks, each with its own length, angle and bow; the gap between them varies.

    A quick hand writes them short, or as two dots, or close together (``tick_short``, ``tick_close``).
    """
    s = style.mark_scale * rng.uniform(0.85, 1.15)
    short = 1.0
    if rng.random() < style.tick_short:
        # dots, or stubs; rarely dots, which at the model's 28 pixels are hard to tell from a small ring
        short = rng.uniform(0.15, 0.25) if rng.random() < 0.15 else rng.uniform(0.35, 0.6)
    close = rng.uniform(0.45, 0.7) if rng.random() < style.tick_close else 1.0
    # however close, a writer keeps two ticks apart: merged into one blob they would read as a dot
    gap = max(style.tick_gap * s * close * rng.uniform(0.75, 1.25), 1.8 * _pen_units(style))
    sep = style.tick_sep + rng.normal(0.0, 0.2)
    lines = []
    for side in (-0.5, 0.5):
        centre = anchor + side * gap * np.array([np.cos(sep), np.sin(sep)])
        length = style.tick_len * s * short * rng.uniform(0.7, 1.3)
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
    # a pen that closes the loop late spirals a little: the radius drifts over the turn
    spiral = rng.normal(0.0, 0.12)
    if rng.random() < style.ring_small:
        radius, sweep, spiral = _quick_ring(style, rng)
    theta = start + np.linspace(0.0, sweep, 24) * rng.choice([-1.0, 1.0])
    lumpy = 1.0 + rng.normal(0.0, 0.08) * np.cos(2 * theta + rng.uniform(0, 6.3)) + rng.normal(0.0, 0.05) * np.cos(
        3 * theta
    )
    drift = np.linspace(0.0, spiral, theta.size)
    r = radius * (lumpy + drift)
    tilt = rng.uniform(0.0, np.pi)
    local = np.stack([np.cos(theta) * style.ring_aspect, np.sin(theta)], axis=1) * r[:, None]
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    return [_Line(anchor + local @ rot.T, np.full(theta.size, 0.8))]


def _quick_ring(style: WriterStyle, rng: np.random.Generator) -> tuple[float, float, float]:
    """Radius, sweep (radians) and spiral drift of a small quick circle: open, a C, or a spiral.

    Small, yet the hole or the curve must show at this pen: a C or a gap still reads as a circle,
    a blob would not.
    """
    # the hole at least a pen wide: smaller, the ring is a blob two dakuten dots make too once the
    # character is reduced to the model's 28 pixels (measured: 10 % of marks read as the other mark)
    radius = max(style.ring_radius * rng.uniform(0.45, 0.7), 1.5 * _pen_units(style) + 1.0)
    kind = rng.random()
    if kind < 0.45:  # open: a gap of a sixth to a third of the turn
        return radius, 2 * np.pi * rng.uniform(0.67, 0.85), float(rng.normal(0.0, 0.1))
    if kind < 0.75:  # a C
        return radius, 2 * np.pi * rng.uniform(0.55, 0.67), float(rng.normal(0.0, 0.08))
    # a spiral: past a full turn, closing in on itself
    return radius * rng.uniform(1.1, 1.3), 2 * np.pi * rng.uniform(1.1, 1.35), float(rng.uniform(-0.5, -0.3))
