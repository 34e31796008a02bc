"""Font glyphs warped like handwriting: pen-width variants and batched affine/elastic warps per writer."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage.morphology import skeletonize

from neta.hiragana.etl.synth.glyphs import SVG_SIZE
from neta.hiragana.etl.synth.pen import _affine, _deform
from neta.hiragana.etl.synth.styles import WriterStyle

# Stroke width (px at 128 x 127) a font's glyphs are redrawn at: the middle of the pens _pen_index
# calls normal (3.2..4.6), so pen_variants' thin and thick copies match the thin and thick pens.
NORMAL_PEN = 3.9


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


def normal_pen(hires: np.ndarray, oversample: int, width: float = NORMAL_PEN) -> np.ndarray:
    """(N, H, W) glyphs rendered ``oversample`` times larger, brought to the normal pen and shrunk.

    Handwriting fonts run from hairline to blob (median stroke 4 to 16 px). Each stroke is scaled in
    width about its centre line by the one factor that brings the font's median stroke to ``width``,
    so a brush font keeps its thick and thin parts and the writer's pen (:func:`pen_variants`)
    decides the weight. Eroding every outline by the same distance would cut a brush font's thin
    parts; redrawing the centre lines at one width would lose them.
    """
    # a light blur first: rough (dry-brush) outlines would sprout centre-line spurs
    ink = ndimage.gaussian_filter(hires, (0, 0.7 * oversample, 0.7 * oversample)) >= 0.5
    n, h, w = ink.shape
    margin = int(np.ceil(width * oversample)) + 2 * oversample  # room for a thin font to grow
    parts = []
    for glyph in ink:
        ys, xs = np.nonzero(glyph)
        if ys.size == 0:
            parts.append(None)
            continue
        box = (slice(max(ys.min() - margin, 0), ys.max() + margin + 1),
               slice(max(xs.min() - margin, 0), xs.max() + margin + 1))
        crop = glyph[box]
        # a stroke's half width along its centre line, in high-resolution pixels
        parts.append((box, skeletonize(crop), ndimage.distance_transform_edt(crop) - 0.5))
    centre = [half[skel] for _, skel, half in filter(None, parts)]
    out = np.zeros((n, h // oversample, w // oversample), dtype=np.float32)
    if not centre:
        return out
    goal = width * oversample / 2
    factor = goal / max(float(np.median(np.concatenate(centre))), 0.5)
    for i, part in enumerate(parts):
        if part is None:
            continue
        box, skel, half = part
        dist, (iy, ix) = ndimage.distance_transform_edt(~skel, return_indices=True)
        # each pixel belongs to its nearest centre-line point; a floor keeps hairlines visible
        drawn = np.zeros((h, w), dtype=bool)
        drawn[box] = dist <= np.maximum(factor * half[iy, ix], 0.25 * goal)
        out[i] = drawn.reshape(h // oversample, oversample, w // oversample, oversample).mean(axis=(1, 3))
    return out


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
