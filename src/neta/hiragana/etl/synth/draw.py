"""Hiragana drawn from KanjiVG strokes with the writer's pen: one (127, 128) intensity image a sample."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from neta.hiragana.etl.synth.conventions import written_body
from neta.hiragana.etl.synth.glyphs import SVG_SIZE, Glyph
from neta.hiragana.etl.synth.pen import _affine, _body_line, _connector, _deform, _Line
from neta.hiragana.etl.synth.styles import WriterStyle
from neta.hiragana.etl.synth.voicing import _dakuten, _handakuten

_SUPERSAMPLE = 2


def glyph_lines(glyph: Glyph, style: WriterStyle, rng: np.random.Generator) -> list[_Line]:
    """The lines one sample of ``glyph`` is drawn with, in KanjiVG units."""
    body, stray = written_body(glyph.body, glyph.mark is not None, style, rng)
    lines = [_body_line(seg, style, rng) for seg in body if seg.size]
    if style.connect > 0:
        joined = []
        for i, line in enumerate(lines):
            joined.append(line)
            if i + 1 < len(lines) and rng.random() < style.connect:
                a, b = line.points[-1], lines[i + 1].points[0]
                if np.linalg.norm(b - a) < 60.0:
                    joined.append(_connector(a, b, rng))
        lines = joined
    lines += stray  # after the hairlines: a stray mark is not joined to the strokes
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
