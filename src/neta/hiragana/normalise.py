"""One normalisation of a handwritten character for every path into the model: ETL records and pictures.

A character reaches the CNN from an ETL file of any layout (ETL8G's 4-bit 128 x 127 cell with a
margin, ETL8B2's 1-bit 64 x 63 image that fills its cell edge to edge, ...) or from a picture (a scan,
a photo, a canvas). Scaling the whole cell, as the seed did, gives characters of a size that depends
on the layout, so a model trained on one reads another badly. Here every source is first turned into
grey (paper high) and then:

1. the paper's brightness estimated at low resolution (a wide maximum filter, blurred) and divided
   out, so a photo's uneven light and grey paper become white paper; ink is ``1 - that``;
2. ink separated from paper by Otsu's threshold, never lower than the paper's own noise (a robust
   spread of the paper class) nor than :data:`MIN_CONTRAST`, and fainter ink above that noise kept
   where it joins that ink or is a piece of its own of at least :data:`FAINT_SHARE` of that ink's
   area, so faint strokes and the grey lines of a small picture stay; specks far smaller than the
   pen dropped, and lone dots of dust far outside the character (see :data:`STRAY_DOT`), which would
   set the crop; before that, the lines of a ruled box along the picture's sides (see
   :data:`RULE_COVER`); each stroke then measured against its own darkness (:data:`LOCAL_PEAK`), so a
   faint one reads as dark as the rest, and a lone speck of the paper's grain against the writing's
   (:data:`SPECK_SHARE`), so it stays as faint as it is;
3. cropped to the ink's bounding box and centred on a square frame at twice the ETL8G resolution so
   that the box fills :data:`FILL` of it: stretched to a square (``ink_square``, the default: ETL8B2
   files stretch every character to fill their cell, so stretching everything makes a character the
   same whichever file or picture it came from) or keeping its aspect ratio (``ink_box``);
4. a pen far thicker or thinner than the ETL writers' (:data:`PEN_RANGE`, 128-pixel frame units,
   see :func:`_pen_width`) thinned by erosion or thickened by dilation to the writers' median width,
   so a marker on a large canvas looks like a pen on an ETL sheet (no stroke is thinned below that
   width, so a brush's thin sweeps stay), and the character framed again;
5. inked at the ETL writers' typical level (:data:`INK_LEVEL`) and area-averaged to the model's size.

``method="cell"`` keeps the seed's plain area-averaged resize of the whole ETL cell for the exact
reproduction; a picture for such a model is framed as ``ink_box``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import skeletonize
from threadpoolctl import threadpool_limits

from neta.errors import NetaError

# hiragana.normalise: cropped to the ink and framed keeping the aspect ratio (ink_box) or stretched to
# a square (ink_square), or the seed's whole-cell resize (cell)
NORMALISATIONS = ("ink_square", "ink_box", "cell")
MAX_STRETCH = 3.0  # ink_square stretches the shorter side of the ink's box at most this much more
ETL_FRAME = 128  # side of an ETL8G image (128 x 127), the frame the pen widths below are measured in
SUPERSAMPLE = 2  # the frame is built at twice the ETL resolution, as the synthetic sheets are drawn
# the longer side of the ink's box / the frame's side: larger than an ETL8G sheet's own (0.635, the
# median of its characters) so a voicing mark keeps more pixels at 28, with room left for the warps
FILL = 0.78
# Measured on the synthetic ETL8G sheets (500 hiragana, each scaled up to the frame and cut at half
# its ink level; see etl_appearance), where characters fill _SHEET_FILL of the frame; the pen widths
# scale with the character to FILL.
_SHEET_FILL = 0.635
PEN_RANGE = (2.0 * FILL / _SHEET_FILL, 4.9 * FILL / _SHEET_FILL)  # pen width, frame px: 5th..95th pct
PEN_TARGET = 3.6 * FILL / _SHEET_FILL  # ... median: the width a pen outside PEN_RANGE is brought to
INK_LEVEL = 0.88  # a fully inked pixel as a fraction of 255: median (5th..95th pct 0.74..1.0)
MIN_CONTRAST = 0.15  # ink must be at least this much darker than the paper around it (fraction)
# Otsu's threshold falls between the paper and the dark cores of the strokes, so a stroke written
# faint, or one a small picture's pixels average to grey (a 1-pixel pencil line shrunk to half its
# resolution, a handakuten's thin ring), fell below it and was lost or broke into dashes. Faint ink,
# above the paper's noise (PAPER_NOISE robust deviations of the paper's level, and MIN_CONTRAST) but
# below Otsu's threshold, is ink where it joins ink above it, and a piece of its own when it holds at
# least FAINT_SHARE of that ink's area: a sparse paper's specks, too few for the robust deviation to
# see, stay paper.
PAPER_NOISE = 6.0
FAINT_SHARE = 0.03
# Each stroke is as dark to the model as the darkest ink within LOCAL_PEAK pixels of it (capped at the
# picture's ink level), so a faint stroke, or a grey one of a small picture, reads as a stroke, not as
# a smudge beside the dark ones; a stroke's antialiased edge lies within two pixels of its core.
LOCAL_PEAK = 5
# ... but a speck, more than LOCAL_PEAK pixels from the strokes, keeps its own contrast against the
# writing's ink: the grain of a pencil's paper (a scan's specks of a pixel or two, above the paper's
# robust noise when they are few) stays as faint as it is instead of reading as dots of ink round the
# character, where a voicing mark would be. A speck holds at most SPECK_SHARE of a pen's square (a
# voicing mark's stroke, or a round pen's dot, holds more) or the square of SPECK_SIDE of the
# character's size (a pencil's pen is about as thin as its grain; a small picture's voicing mark is
# larger than that share of its character).
SPECK_SHARE = 0.5
SPECK_SIDE = 0.015
MIN_EXTENT = 8  # pixels the ink must span at least, so a speck of dust is not read as a character
# Dust on a scan: a dot with no other ink within STRAY_ALONE pen widths, farther than STRAY_GAP of the
# character's size (and STRAY_ALONE pens) outside the box of the rest, is dropped: it would set the
# crop's box and read as a voicing mark. A dot is at most STRAY_DOT pen widths squared of ink, or a
# blot: at least STRAY_BLOT_THICK pens thick, at most STRAY_BLOT_LONG times as long as thick and no
# longer than the gap it keeps (a speck of dust is often thicker than a fine pen; a stroke as thick as
# the pen and that short is a dot already). A dakuten is two strokes side by side and
# お's or む's dot touches the character's box, so neither is alone and far. Not when the rest touches
# the image's edge: a B-type image stretches its character to fill the cell, and a dakuten can then
# sit far to the side of a narrow く.
STRAY_DOT = 2.0
STRAY_BLOT_THICK = 1.25
STRAY_BLOT_LONG = 2.0
STRAY_ALONE = 4.0
STRAY_GAP = 0.1
# A character cut loosely from a sheet of writing may keep a piece of its neighbour's stroke, cut by
# the picture's edge; to the crop it is ink, so the character shrinks beside it. A component that
# touches an edge is dropped when what remains of the ink keeps clear of every edge, it is at most
# FRAGMENT_LONG of the character's size long, keeps a gap of FRAGMENT_GAP of that size (and a pen)
# from the character's box, and the edge cuts it: at least FRAGMENT_CUT pens of it lie on the edge's
# line, and FRAGMENT_SQUARE_CUT of what lies on the line half a pen further in (a stroke's rounded end
# that only reaches the edge, as a crop tight at a dakuten leaves it, has fewer there than further in).
FRAGMENT_LONG = 0.35
FRAGMENT_GAP = 0.1
FRAGMENT_CUT = 0.8
FRAGMENT_SQUARE_CUT = 0.7
# A ruled box's line, kept by a loose crop of a sheet, is ink to the crop: it sets the box, shrinks the
# character, and if darker than the writing takes Otsu's threshold from it. A line inks at least
# RULE_COVER of a side's length within RULE_DEPTH of the side (RULE_MIN_DEPTH pixels at least), on
# RULE_DRIFT of it (3 rows at least) that a scan turned by a degree makes it drift across. It is
# taken out only when it is thinner than RULE_THIN pens (and RULE_SOFT_EDGE pixels of antialiasing)
# and what remains touches no edge of the picture: a B-type image stretches its character to fill
# the cell, and there a long top stroke of て or こ spans the side too. What remains may touch the
# line only if the line runs to both ends of its side, as the crop cut it: a stroke along a tight
# canvas's edge (て's top, joined to the rest) stops short of them.
RULE_COVER = 0.9
RULE_DEPTH = 0.06
RULE_MIN_DEPTH = 5
RULE_DRIFT = 0.02
RULE_THIN = 0.8
RULE_SOFT_EDGE = 1.5
BACKGROUND_GRID = 128  # side of the low-resolution copy the paper brightness is estimated on
BACKGROUND_WINDOW = 0.2  # maximum-filter window as a fraction of that copy: wider than any stroke
BLUR_CELLS = 5  # the paper map is filtered and blurred on cells of about 1/BLUR_CELLS of that window
PEN_CELL = 2  # side, in frame pixels, of the cells the thinning and thickening distances are taken on


# --- the seed's whole-cell resize -----------------------------------------------------------

# Exact area averaging: each output pixel is the mean of the input area it covers, with fractional
# weights at the edges, because 128 x 127 -> 28 x 28 is no integer ratio (PIL's BOX filter rounds
# those edges instead). It keeps thin 4-bit strokes as grey mass where point sampling would drop
# them. It is separable, ``Wy @ image @ Wx.T``, and runs on chunks of images as two plain matrix
# products (BLAS): measured faster here than per-image products, ``torch.matmul``, a running sum
# and the block-diagonal structure.
_CHUNK = 2048  # images per step: ~130 MB of float32 at 128 x 127, so memory stays bounded


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix whose row i averages input cells [i*n_in/n_out, (i+1)*n_in/n_out)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    cells = np.arange(n_in)
    lo = np.maximum(edges[:-1, None], cells[None, :])
    hi = np.minimum(edges[1:, None], cells[None, :] + 1)
    overlap = np.clip(hi - lo, 0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def _area_reduce_rows(values: np.ndarray, n_out: int) -> np.ndarray:
    """Area-average each row of a (M, n_in) float32 array to n_out bins with one dense GEMM.

    (The matrix is block-diagonal when gcd(n_in, n_out) > 1, but the skinny blocked product measured
    three times slower in BLAS than the dense one.)
    """
    return values @ area_weights(values.shape[1], n_out).T.copy()


def preprocess(raw_images: np.ndarray, bits: int, size: int) -> np.ndarray:
    """Raw ETL levels (N, H, W) -> (N, size, size) uint8 in 0..255, ink high, area-averaged.

    ``size`` is ``hiragana.size``, whose range (8..128) the config schema checks.
    """
    raw_images = np.asarray(raw_images)
    if raw_images.ndim != 3:
        raise ValueError(f"expected (N, H, W) images, got shape {raw_images.shape}")
    n, height, width = raw_images.shape
    scale = np.float32(255.0 / ((1 << bits) - 1))
    out = np.empty((n, size, size), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        chunk = raw_images[start : start + _CHUNK]
        k = chunk.shape[0]
        # rows first, as plain GEMMs over the whole chunk rather than k small products ...
        cols = _area_reduce_rows(chunk.reshape(k * height, width).astype(np.float32), size)
        # ... then columns, on the transposed (much smaller) intermediate
        cols = cols.reshape(k, height, size).transpose(0, 2, 1).reshape(k * size, height)
        small = _area_reduce_rows(cols, size).reshape(k, size, size).transpose(0, 2, 1) * scale
        out[start : start + k] = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    return out


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
    # The maximum filter and the wide blur (sigma half the window, ~13 pixels on the 128 grid: a
    # kernel of ~100 taps) took most of the time here at full resolution. Both run on cells of about
    # 1/BLUR_CELLS of the window instead: the brightest pixel of each cell, then the brightest cell
    # within reach, so every pixel still sees at least half a window of paper on every side; the
    # blur's scale is the window, so the cells lose nothing it would keep.
    cells = []
    for n_pixels in small.shape:
        n_cells = min(n_pixels, max(1, round(n_pixels * BLUR_CELLS / window)))
        cells.append((np.round(np.arange(n_cells) * (n_pixels / n_cells)).astype(np.intp), n_pixels / n_cells))
    (rows, cell_h), (cols, cell_w) = cells
    paper = np.maximum.reduceat(np.maximum.reduceat(small, rows, axis=0), cols, axis=1)
    reach = (int(np.ceil(window // 2 / cell_h)), int(np.ceil(window // 2 / cell_w)))
    paper = ndimage.maximum_filter(paper, size=(2 * reach[0] + 1, 2 * reach[1] + 1), mode="nearest")
    paper = ndimage.gaussian_filter(paper, (window / 2.0 / cell_h, window / 2.0 / cell_w), mode="nearest")
    return np.maximum(_resize(paper, width, height), 1e-3)


class CentreLines(NamedTuple):
    """A mask's centre lines: their pixels, each one's distance to the nearest paper pixel and the
    unit (row, column) vector towards it (across the stroke)."""

    rows: np.ndarray
    cols: np.ndarray
    reach: np.ndarray
    across: np.ndarray  # (n, 2)

    def take(self, keep: np.ndarray) -> CentreLines:
        return CentreLines(self.rows[keep], self.cols[keep], self.reach[keep], self.across[keep])


def centre_lines(mask: np.ndarray) -> CentreLines:
    """The mask's skeleton, with the distance transform at it (see :class:`CentreLines`)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return CentreLines(np.empty(0, int), np.empty(0, int), np.empty(0), np.empty((0, 2)))
    # the ink's box with a pixel of paper around it gives the same distances on a fraction of the area
    crop = np.pad(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)
    ys, xs = np.nonzero(skeletonize(crop))
    distance, nearest = ndimage.distance_transform_edt(crop, return_indices=True)
    reach = distance[ys, xs]
    across = (nearest[:, ys, xs] - np.stack([ys, xs])).T / reach[:, None]
    return CentreLines(ys + rows[0] - 1, xs + cols[0] - 1, reach, across)


def _centre_line_width(lines: CentreLines) -> float:
    """Typical stroke width in pixels: twice the median distance from the centre lines to the paper.

    (The median ignores the short spurs and stroke ends; ink area / centre-line length does not and
    reads short, stubby strokes as far wider than they are.)
    """
    return max(0.0, 2.0 * float(np.median(lines.reach)) - 1.0) if lines.reach.size else 0.0


def _pen_width(mask: np.ndarray) -> float:
    """Typical stroke width of the mask in pixels (see :func:`_centre_line_width`)."""
    return _centre_line_width(centre_lines(mask))


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the mask's pixels, bottom and right exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of ``values`` on 256 bins over their range, as skimage's; the histogram is
    counted with np.bincount, in a third of the time skimage's np.histogram takes."""
    bottom, top = float(values.min()), float(values.max())
    if top <= bottom:
        return bottom
    bins = np.minimum(((values - bottom) * (256.0 / (top - bottom))).astype(np.intp), 255)
    centres = bottom + (np.arange(256) + 0.5) * ((top - bottom) / 256.0)
    return float(threshold_otsu(hist=(np.bincount(bins.ravel(), minlength=256), centres)))


class Ink(NamedTuple):
    soft: np.ndarray  # 0..1, paper 0 and a stroke's inside 1
    mask: np.ndarray  # the ink, specks removed
    # the mask's centre lines: found before the specks were removed, for their size, then kept for
    # framed_pen_width, which needs them too
    lines: CentreLines


def ink_map(grey: np.ndarray, path: str | os.PathLike) -> Ink:
    """The ink of a grey image (see :class:`Ink`), specks and a ruled box's lines removed.

    An image without ink darker than its paper is a NetaError naming ``path``.
    """
    ink = 1.0 - np.clip(grey / paper_brightness(grey), 0.0, 1.0)
    ruled = _ruled_lines(ink)
    if ruled is not None:
        inside = ink.copy()
        inside[ruled.band] = 0.0
        try:
            found = _ink_of(inside, path)
        except NetaError:  # nothing but lines: a character's own strokes, as in a B-type image
            found = None
        if found is not None and _apart_from(found, ruled):
            return found
    return _ink_of(ink, path)


class _Ruled(NamedTuple):
    band: np.ndarray  # the picture's edges up to and just past the lines
    thickness: float  # the lines' rows of ink (above MIN_CONTRAST) per pixel of their length, the thickest
    end_to_end: bool  # every line reaches both ends of its side (to a pixel)


def _apart_from(found: Ink, ruled: _Ruled) -> bool:
    """Whether the ink ``found`` once ``ruled`` was taken out is a character apart from the lines:
    thicker than they are, touching no edge of the picture, and clear of them unless they run from
    end to end."""
    if ruled.thickness > RULE_THIN * _centre_line_width(found.lines) + RULE_SOFT_EDGE:
        return False
    if _reaches_edge(_ink_box(found.mask), found.mask.shape):
        return False
    return ruled.end_to_end or not (ndimage.binary_dilation(ruled.band) & found.mask).any()


def _reaches_edge(box: tuple[int, int, int, int], shape: tuple[int, int]) -> bool:
    """Whether the box (top, bottom, left, right; stop exclusive) touches an edge of an image of
    ``shape``: then the image may be B-type, its character stretched to fill it, and neither the
    dust rule nor the ruled-line rule applies."""
    top, bottom, left, right = box
    return top == 0 or left == 0 or bottom == shape[0] or right == shape[1]


def _ruled_lines(ink: np.ndarray) -> _Ruled | None:
    """The lines along the picture's sides that :data:`RULE_COVER` describes, None when there are none."""
    inked = ink > MIN_CONTRAST
    band = np.zeros(ink.shape, bool)
    thickness, end_to_end = 0.0, True
    # each side as rows counted from its edge: views, so marking the band's rows marks ``band``
    for rows, marks in ((inked, band), (inked[::-1], band[::-1]), (inked.T, band.T), (inked.T[::-1], band.T[::-1])):
        length = rows.shape[1]
        drift = max(3, round(RULE_DRIFT * length))
        near = rows[: max(RULE_MIN_DEPTH, drift, round(RULE_DEPTH * rows.shape[0]))]
        # ``drift`` rows at a time: a line turned with the scan drifts across rows
        cover = np.lib.stride_tricks.sliding_window_view(near, drift, axis=0).any(axis=-1).mean(axis=1)
        hits = np.flatnonzero(cover >= RULE_COVER)
        if not hits.size:
            continue
        region = near[: int(hits.max()) + drift]
        # in each column the line is the first run of ink there (so a turned line's too), and the band
        # ends a row past it; a character close below it keeps its own ink
        inked_cols = region.any(axis=0)
        depth = np.arange(region.shape[0])[:, None]
        first = np.argmax(region, axis=0)
        after = ~region & (depth > first)
        last = np.where(after.any(axis=0), np.argmax(after, axis=0), region.shape[0]) - 1
        last = np.where(inked_cols, last, int(np.median(last[inked_cols])))
        marks |= np.arange(rows.shape[0])[:, None] <= last[None, :] + 1
        thickness = max(thickness, float(np.where(inked_cols, last - first + 1, 0).sum()) / length)
        end_to_end = end_to_end and bool(region[:, :2].any() and region[:, -2:].any())
    return _Ruled(band, thickness, end_to_end) if band.any() else None


def _ink_of(ink: np.ndarray, path: str | os.PathLike) -> Ink:
    """:func:`ink_map` of the ink (0..1, paper low) of a picture without ruled lines."""
    no_ink = f"{path}: no writing found (expected dark ink on light paper, one character)"
    if float(ink.max()) < MIN_CONTRAST:
        raise NetaError(no_ink)
    otsu = _otsu(ink)
    paper = ink[ink <= otsu]
    paper_level = float(np.median(paper)) if paper.size else 0.0
    spread = 1.4826 * float(np.median(np.abs(paper - paper_level))) if paper.size else 0.0
    faint = max(paper_level + PAPER_NOISE * spread, paper_level + MIN_CONTRAST)
    labels, areas = _ink_components(ink > max(otsu, faint), ink > faint)
    mask = labels > 0
    if not mask.any():
        raise NetaError(no_ink)
    lines = centre_lines(mask)
    pen = _centre_line_width(lines)
    smallest = max(0.25 * pen * pen, 0.002 * float(areas.sum()), 2.0)
    kept = _without_dust(labels, _without_edge_fragments(labels, areas >= smallest, pen), areas, pen)
    mask = kept[labels]
    if not mask.any():
        raise NetaError(no_ink)
    top, bottom, left, right = _ink_box(mask)
    extent = max(bottom - top, right - left)
    if extent < MIN_EXTENT:
        raise NetaError(no_ink)
    ink_level = float(np.percentile(ink[mask], 90))
    soft = np.zeros(ink.shape, np.float32)
    # only the ink's box (and the two pixels the dilation reaches past it) can be near the ink
    top, left = max(0, top - 2), max(0, left - 2)
    bottom, right = min(ink.shape[0], bottom + 2), min(ink.shape[1], right + 2)
    near = ndimage.binary_dilation(mask[top:bottom, left:right], structure=np.ones((3, 3), bool), iterations=2)
    box = np.where(near, ink[top:bottom, left:right], 0.0)
    level = np.clip(ndimage.maximum_filter(box, size=LOCAL_PEAK) - paper_level, MIN_CONTRAST,
                    max(ink_level - paper_level, MIN_CONTRAST))
    speck = kept & (areas <= max(SPECK_SHARE * pen * pen, (SPECK_SIDE * extent) ** 2))
    specks = speck[labels[top:bottom, left:right]]
    if specks.any():
        # a speck apart from the strokes keeps its own contrast against the writing's ink (SPECK_SHARE)
        strokes = ndimage.binary_dilation(mask[top:bottom, left:right] & ~specks, structure=np.ones((3, 3), bool),
                                          iterations=LOCAL_PEAK)
        alone = ndimage.binary_dilation(specks, structure=np.ones((3, 3), bool), iterations=2) & ~strokes
        level = np.where(alone, max(ink_level - paper_level, MIN_CONTRAST), level)
    soft[top:bottom, left:right] = np.where(near, np.clip((box - paper_level) / level, 0.0, 1.0), 0.0)
    return Ink(soft, mask, lines.take(mask[lines.rows, lines.cols]))


def _ink_components(dark: np.ndarray, faint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The components of the ink: the ``faint`` mask's that hold ``dark`` ink or FAINT_SHARE of its
    area (see there). Their labels, 1 to their number (0 the paper), and each label's area."""
    labels, count = ndimage.label(faint, structure=np.ones((3, 3), bool))
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    keep = (areas >= FAINT_SHARE * float(dark.sum())) | (np.bincount(labels[dark], minlength=count + 1) > 0)
    keep[0] = False
    renumber = np.where(keep, np.cumsum(keep), 0)
    return renumber[labels], np.concatenate([[0], areas[keep]])


def _component_spans(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each component's box (rows of top, bottom, left, right; stop exclusive; row 0 the paper's, empty)
    and its longer side."""
    spans = np.array([[0, 0, 0, 0]] + [[b[0].start, b[0].stop, b[1].start, b[1].stop]
                                       for b in ndimage.find_objects(labels)])
    return spans, np.maximum(spans[:, 1] - spans[:, 0], spans[:, 3] - spans[:, 2])


def _union_box(boxes: np.ndarray) -> np.ndarray:
    """The box (top, bottom, left, right) around all of ``boxes``, rows as :func:`_component_spans`'."""
    return np.array([boxes[:, 0].min(), boxes[:, 1].max(), boxes[:, 2].min(), boxes[:, 3].max()])


def _box_gaps(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Pixels between ``box`` and each of ``boxes`` (rows of top, bottom, left, right; stop
    exclusive), 0 where they touch or overlap."""
    boxes = np.atleast_2d(boxes)
    return np.maximum.reduce([box[0] - boxes[:, 1], boxes[:, 0] - box[1], box[2] - boxes[:, 3],
                              boxes[:, 2] - box[3], np.zeros(len(boxes), boxes.dtype)])


def _blots(labels: np.ndarray, spans: np.ndarray, long: np.ndarray, candidates: np.ndarray, pen: float) -> np.ndarray:
    """Which of the ``candidates`` components of ``labels`` (``spans``: each one's top, bottom, left,
    right; ``long``: its longer side) are blots as :data:`STRAY_BLOT_THICK` describes them."""
    blots = np.zeros_like(candidates)
    for k in np.flatnonzero(candidates):
        top, bottom, left, right = spans[k]
        reach = ndimage.distance_transform_edt(np.pad(labels[top:bottom, left:right] == k, 1)).max()
        thick = 2.0 * float(reach) - 1.0
        blots[k] = thick >= STRAY_BLOT_THICK * pen and long[k] <= STRAY_BLOT_LONG * thick
    return blots


def _without_edge_fragments(labels: np.ndarray, kept: np.ndarray, pen: float) -> np.ndarray:
    """``kept`` (a bool a component of ``labels``, 0 the paper) less the pieces of a neighbour's strokes
    that a loose crop cut at the picture's edge, as :data:`FRAGMENT_LONG` describes them."""
    shape = labels.shape
    at_edge = np.zeros_like(kept)
    for line in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        at_edge[line] = True
    at_edge &= kept  # the paper (label 0) is never kept
    if not at_edge.any():
        return kept
    spans, long = _component_spans(labels)
    inked = _union_box(spans[kept])
    whole = max(inked[1] - inked[0], inked[3] - inked[2])
    short = at_edge & (long <= FRAGMENT_LONG * whole)
    rest = kept & ~short
    if not short.any() or not rest.any():
        return kept
    box = _union_box(spans[rest])
    if _reaches_edge(tuple(box), shape):  # a tight crop or a B-type image: the character's own strokes
        return kept
    size = max(box[1] - box[0], box[3] - box[2])
    out = kept.copy()
    for k in np.flatnonzero(short):
        if (long[k] <= FRAGMENT_LONG * size and _box_gaps(spans[k], box)[0] >= max(FRAGMENT_GAP * size, pen)
                and _cut_by_edge(labels == k, pen)):
            out[k] = False
    return out


def _cut_by_edge(component: np.ndarray, pen: float) -> bool:
    """Whether the picture's edge cuts ``component``: on some edge line it has at least FRAGMENT_CUT
    pens of ink, and about as much as half a pen further in (FRAGMENT_SQUARE_CUT). A stroke whose
    rounded end only reaches the edge, as a tight crop leaves a dakuten, has a few pixels there and
    more further in."""
    depth = max(1, int(round(pen / 2.0)))
    for lines in (component, component[::-1], component.T, component.T[::-1]):
        edge, inside = int(lines[0].sum()), int(lines[min(depth, lines.shape[0] - 1)].sum())
        if edge >= FRAGMENT_CUT * pen and edge >= FRAGMENT_SQUARE_CUT * inside:
            return True
    return False


def _without_dust(labels: np.ndarray, kept: np.ndarray, areas: np.ndarray, pen: float) -> np.ndarray:
    """``kept`` (a bool a component of ``labels``, 0 the paper) less the lone dots of dust described
    at :data:`STRAY_DOT`."""
    small = kept & (areas <= STRAY_DOT * pen * pen)
    # a blot is no longer than the reach, which is at most ``longest``, so it has at most its square of
    # ink; and it holds a disc as wide as it is thick, so half of (long / STRAY_BLOT_LONG) squared at least
    longest = max(STRAY_GAP * max(labels.shape), STRAY_ALONE * pen)
    maybe_blots = kept & ~small & (areas <= longest * longest)
    if not (small | maybe_blots).any():
        return kept
    spans, long = _component_spans(labels)
    candidates = maybe_blots & (long <= longest) & (areas >= 0.5 * (long / STRAY_BLOT_LONG) ** 2)
    blots = _blots(labels, spans, long, candidates, pen)
    dots = np.flatnonzero(small | blots)
    rest = kept.copy()
    rest[dots] = False
    if not dots.size or not rest.any():
        return kept
    box = _union_box(spans[rest])
    top, bottom, left, right = box
    if _reaches_edge((top, bottom, left, right), labels.shape):
        return kept
    reach = max(STRAY_GAP * max(bottom - top, right - left), STRAY_ALONE * pen)
    others = spans[np.flatnonzero(kept)]
    out = kept.copy()
    for k in dots:
        alone = (_box_gaps(spans[k], others) <= STRAY_ALONE * pen).sum() == 1  # itself only
        if alone and (small[k] or long[k] <= reach) and _box_gaps(spans[k], box)[0] > reach:
            out[k] = False
    return out


# --- the ETL-like frame ------------------------------------------------------------------------


class _Framing(NamedTuple):
    crop: np.ndarray  # the soft ink the frame takes: the mask's box and a pixel of soft edge around it
    top: int  # the crop's place in the image
    left: int
    scale_x: float  # image to frame
    scale_y: float


def _framing(soft: np.ndarray, mask: np.ndarray, *, square: bool) -> _Framing:
    """How :func:`etl_frame` places the ink on the frame."""
    side = ETL_FRAME * SUPERSAMPLE
    top, bottom, left, right = _ink_box(mask)
    scale = FILL * side / max(bottom - top, right - left)
    scale_x = scale_y = scale
    if square:
        scale_x = min(FILL * side / (right - left), MAX_STRETCH * scale)
        scale_y = min(FILL * side / (bottom - top), MAX_STRETCH * scale)
    # one pixel of soft edge around the box comes along, so the strokes keep their antialiasing
    top, left = max(0, top - 1), max(0, left - 1)
    bottom, right = min(soft.shape[0], bottom + 1), min(soft.shape[1], right + 1)
    return _Framing(soft[top:bottom, left:right], top, left, scale_x, scale_y)


def etl_frame(soft: np.ndarray, mask: np.ndarray, *, square: bool) -> np.ndarray:
    """The ink cropped to its bounding box, centred on a square frame (SUPERSAMPLE x ETL_FRAME) that
    its longer side fills to FILL; ``square`` stretches the shorter side to FILL too (at most
    MAX_STRETCH times the longer side's scale), else the aspect ratio is kept.

    Stretched, a character looks the same whether it came from a B-type file (ETL8B2 stretches every
    character to fill its cell) or from a picture or a G-type cell that kept its shape.
    """
    side = ETL_FRAME * SUPERSAMPLE
    framing = _framing(soft, mask, square=square)
    crop = framing.crop
    width = min(side, max(1, round(crop.shape[1] * framing.scale_x)))
    height = min(side, max(1, round(crop.shape[0] * framing.scale_y)))
    frame = np.zeros((side, side), np.float32)
    y0, x0 = (side - height) // 2, (side - width) // 2
    frame[y0 : y0 + height, x0 : x0 + width] = np.clip(_resize(crop, width, height), 0.0, 1.0)
    return frame


_SECTION_STEP = 0.5  # pixels between the samples of a stroke's cross-section
# Frame pixels by which _pen_width on the frame reads a stroke narrower than its cross-section (its
# median takes in the centre lines' ends and joins, and it counts whole pixels to the paper). Chosen
# so that the two agree on which pens lie outside PEN_RANGE for the most records: 600 ETL8G hiragana
# of the synthetic sheets and their ETL8B2 copies, ink_square and ink_box, agree for 90 to 93 %.
# The median difference is larger (1.4 to 1.8), but _pen_width's whole-pixel steps pile many
# records up at 2.5, just inside PEN_RANGE, and that larger value would thicken half of them.
_CENTRE_LINE_DEFICIT = 1.0


def _half_level_reach(values: np.ndarray) -> np.ndarray:
    """Distance (in samples) from the first of each row of ``values`` to where they first fall to 0.5,
    interpolated between the samples either side (0 where the first is no higher)."""
    first = np.argmax(values <= 0.5, axis=1)[:, None]
    inside = np.take_along_axis(values, np.maximum(first - 1, 0), axis=1)
    outside = np.take_along_axis(values, first, axis=1)
    fraction = (inside - 0.5) / np.maximum(inside - outside, 1e-6)
    return np.where(first > 0, first - 1 + fraction, 0.0)[:, 0]


def framed_pen_width(ink: Ink, *, square: bool) -> float:
    """The pen width, in ETL_FRAME pixels, that :func:`_pen_width` reads on the strokes of
    ``etl_frame(ink.soft, ink.mask)``, estimated from the ink before framing.

    Measuring on the frame took a skeleton and a distance transform of 256 x 256 pixels, nearly half
    the normalisation's time. Instead, from every pixel of the centre lines :func:`ink_map` found,
    the soft ink is followed across the stroke (towards the nearest paper, and the other way) to
    where it falls to half the ink level, as the frame's mask is cut, interpolated between samples:
    the stroke's width to a fraction of a pixel at any resolution, where whole-pixel distances at the
    source's are too coarse (one pixel of a 64-pixel ETL8B2 image is three of the frame's). (Summing
    the ink across instead read a noisy photo's strokes a tenth narrow: noise inside a stroke falls
    below the ink level, not below half of it.) Each width is scaled as the frame scales the stroke
    across: ``ink_square`` stretches x and y by different factors, and a stroke along the unit
    vector u is widened by sx * sy / |(sx ux, sy uy)| (sx for an upright stroke, sy for a level one).
    A single factor such as the geometric mean would misread the upright and level strokes,
    hiragana's commonest, by the square root of the stretch ratio (up to 1.7 with MAX_STRETCH 3).
    The median then picks the typical stroke, as _pen_width's does.
    """
    lines = ink.lines
    if not lines.reach.size:
        return 0.0
    crop, top, left, scale_x, scale_y = _framing(ink.soft, ink.mask, square=square)
    limit = lines.reach + 1.5  # the nearest paper, its soft edge, and as far past the centre line
    steps = int(limit.max() / _SECTION_STEP) + 1
    offsets = np.arange(-steps, steps + 1)[None, :] * _SECTION_STEP
    across_y, across_x = lines.across[:, :1], lines.across[:, 1:]
    values = ndimage.map_coordinates(crop, [lines.rows[:, None] - top + across_y * offsets,
                                            lines.cols[:, None] - left + across_x * offsets], order=1, mode="constant")
    values[np.abs(offsets) > limit[:, None]] = 0.0
    section = (_half_level_reach(values[:, steps:]) + _half_level_reach(values[:, steps::-1])) * _SECTION_STEP
    stretch = scale_x * scale_y / np.hypot(scale_x * lines.across[:, 0], scale_y * lines.across[:, 1])
    width = float(np.median(section * stretch)) - _CENTRE_LINE_DEFICIT
    return max(0.0, width) / SUPERSAMPLE


def normalise_pen(frame: np.ndarray, width: float) -> np.ndarray:
    """Thin or thicken the strokes to an ETL writer's pen when their ``width`` (ETL_FRAME pixels, see
    :func:`framed_pen_width`) lies outside PEN_RANGE.

    A stroke of a round pen is its centre line widened by a disk, so eroding it by a disk (or
    dilating it) gives the same line drawn with a narrower (or wider) pen, joins and ends included;
    both are done with a distance transform, which keeps a one-pixel soft edge. (Redrawing along a
    skeleton was tried: the skeleton's spurs into a square stroke end read as dakuten at 28 pixels.)
    ``width`` is the median stroke's; thinning brings no stroke below PEN_TARGET, so the thin strokes
    of a pen that swells and thins are kept, not erased with the median's erosion.
    """
    if PEN_RANGE[0] <= width <= PEN_RANGE[1]:
        return frame
    mask = frame > 0.5
    if not mask.any():
        return frame
    change = (PEN_TARGET - width) * SUPERSAMPLE / 2.0  # a side of every stroke, in frame pixels
    # the distances are taken on the ink's box and the band the strokes can grow into (every pixel
    # further out is paper before and after, and its nearest ink or paper lies inside that box),
    # aligned to whole cells of PEN_CELL pixels
    top, bottom, left, right = _ink_box(mask)
    margin = int(np.ceil(max(change, 0.0))) + PEN_CELL + 1
    top, left = max(0, top - margin) // PEN_CELL * PEN_CELL, max(0, left - margin) // PEN_CELL * PEN_CELL
    bottom = min(frame.shape[0], -(-(bottom + margin) // PEN_CELL) * PEN_CELL)
    right = min(frame.shape[1], -(-(right + margin) // PEN_CELL) * PEN_CELL)
    box_h, box_w = bottom - top, right - left
    # The distance transform of the frame took most of the time of a record whose pen changes; on
    # cells of PEN_CELL x PEN_CELL pixels it takes a fraction. The distance field is smooth (unlike
    # the mask), so interpolated back to the frame it still cuts a one-pixel soft edge, within about
    # a frame pixel (a ninth of the model's pixel) of where the frame's own would.
    inked = _resize(frame[top:bottom, left:right], box_w // PEN_CELL, box_h // PEN_CELL) > 0.5
    cell_distance = ndimage.distance_transform_edt(inked if change < 0 else ~inked).astype(np.float32)
    # a cell's distance is 1 at the edge, which lies half a cell further out; a frame pixel's, half a pixel
    edge = (PEN_CELL - 1) / 2.0
    if change < 0:
        # A stroke is thinned at most to PEN_TARGET: the erosion the median stroke needs would wipe out
        # the strokes much thinner than it, such as a brush's or a felt tip's thin sweeps, or the
        # strokes across the stretch of a narrow character (ink_square widens one direction only).
        # A stroke's half width is the largest distance within the erosion's reach of a cell. (Reaching
        # further, to the centre of the widest stroke the erosion thins, finds a thick stroke from the
        # thin ones beside it and takes them: a brush-like handwriting font lost more of its strokes.)
        reach = 2 * int(np.ceil(-change / PEN_CELL)) + 1
        widest = ndimage.maximum_filter1d(ndimage.maximum_filter1d(cell_distance, reach, axis=0), reach, axis=1)
        erosion = np.minimum(-change, np.maximum(PEN_CELL * widest - edge - PEN_TARGET * SUPERSAMPLE / 2.0, 0.0))
        # both fields are smooth, so they are interpolated to the frame as one (the resize is linear)
        penned = np.clip(_resize(PEN_CELL * cell_distance - erosion, box_w, box_h) - edge, 0.0, 1.0)
    else:
        distance = PEN_CELL * _resize(cell_distance, box_w, box_h) - edge
        penned = np.clip(1.0 + change - distance, 0.0, 1.0)
    out = np.zeros_like(frame)
    out[top:bottom, left:right] = penned
    return out


@functools.lru_cache(maxsize=16)
def _area_weights_cached(n_in: int, n_out: int) -> np.ndarray:
    """:func:`area_weights`, built once: every record is reduced by the same two matrices."""
    weights = area_weights(n_in, n_out)
    weights.flags.writeable = False
    return weights


def to_model_image(frame: np.ndarray, size: int) -> np.ndarray:
    """Soft ink frame -> (size, size) uint8, ink high, area-averaged as the ETL converter does."""
    rows = _area_weights_cached(frame.shape[0], size)
    cols = _area_weights_cached(frame.shape[1], size)
    small = rows @ (frame * INK_LEVEL) @ cols.T * 255.0
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


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


def picture_framing(method: str) -> str:
    """How a picture is framed for a model whose records were normalised by ``method``: the same way,
    or for the seed's whole-cell resize (which a picture has no cell for), keeping its aspect."""
    if method not in NORMALISATIONS:
        raise NetaError(f"hiragana.normalise: unknown normalisation {method!r}; known: {', '.join(NORMALISATIONS)}")
    return "ink_box" if method == "cell" else method


def normalise_grey(grey: np.ndarray, size: int, name: str | os.PathLike, method: str) -> np.ndarray:
    """Grey ``(H, W)`` in [0, 1], paper high, as the model's input ``(size, size)`` uint8 (see the module).

    ``method`` is ``ink_box`` or ``ink_square``. No ink darker than the paper is a NetaError naming ``name``.
    """
    return normalise_grey_sizes(grey, (size,), name, method)[0]


def normalise_grey_sizes(grey: np.ndarray, sizes: Sequence[int], name: str | os.PathLike,
                         method: str) -> list[np.ndarray]:
    """:func:`normalise_grey` at each of ``sizes``: the framing, the costly part, is done once."""
    framed = _normalised_frame(grey, name, method)
    return [to_model_image(framed, size) for size in sizes]


def _normalised_frame(grey: np.ndarray, name: str | os.PathLike, method: str) -> np.ndarray:
    ink = ink_map(grey, name)
    square = method == "ink_square"
    framed = etl_frame(ink.soft, ink.mask, square=square)
    penned = normalise_pen(framed, framed_pen_width(ink, square=square))
    if penned is not framed and (penned > 0.5).any():
        # a thinned or thickened character has a smaller or larger box: framed again, it fills the
        # frame as every other character does
        framed = etl_frame(penned, penned > 0.5, square=square)
    return framed


def record_grey(raw: np.ndarray, bits: int) -> np.ndarray:
    """An ETL record's levels ``(H, W)`` (ink high, ``bits`` deep) as grey in [0, 1], paper high.

    ``(top - level) / top`` is one correctly rounded division, as a picture's ``value / 255`` is: a
    record and a picture of it (4-bit level ``l`` drawn as ``255 - 17 l``) are then the same float32
    array, bit for bit, and the normalisation makes the same model input of both.
    """
    top = np.float32((1 << bits) - 1)
    return (top - raw.astype(np.float32)) / top


def _normalise_chunk(raw_images: np.ndarray, bits: int, sizes: tuple[int, ...], names: list[str],
                     method: str) -> list[np.ndarray]:
    out = [np.empty((len(raw_images), size, size), np.uint8) for size in sizes]
    # one record's products are tiny: BLAS threads cost 50 times the work (3.6 ms against 0.07 ms
    # measured for the final reduction), and the workers are the parallelism
    with threadpool_limits(1):
        for i, (raw, name) in enumerate(zip(raw_images, names, strict=True)):
            for images, image in zip(out, normalise_grey_sizes(record_grey(raw, bits), sizes, name, method),
                                     strict=True):
                images[i] = image
    return out


def normalise_records(
    raw_images: np.ndarray, bits: int, size: int, method: str, *, names: list[str], workers: int = 1
) -> np.ndarray:
    """Raw ETL levels ``(N, H, W)`` (ink high, ``bits`` deep) -> ``(N, size, size)`` uint8 model inputs.

    ``method`` is one of :data:`NORMALISATIONS`. ``names`` name each record in errors (a record
    without ink is a NetaError naming it). ``workers`` processes share the framing (a speed setting
    only: the result does not depend on it).
    """
    return normalise_records_sizes(raw_images, bits, (size,), method, names=names, workers=workers)[size]


def normalise_records_sizes(
    raw_images: np.ndarray, bits: int, sizes: Sequence[int], method: str, *, names: list[str], workers: int = 1
) -> dict[int, np.ndarray]:
    """:func:`normalise_records` at each of ``sizes`` (a size -> its images), each record framed once."""
    raw_images = np.asarray(raw_images)
    sizes = tuple(dict.fromkeys(int(size) for size in sizes))
    if method == "cell":
        return {size: preprocess(raw_images, bits, size=size) for size in sizes}
    picture_framing(method)  # an unknown method is an error naming the key
    if raw_images.ndim != 3:
        raise ValueError(f"expected (N, H, W) images, got shape {raw_images.shape}")
    n = len(raw_images)
    if workers <= 1 or n < 256:
        return dict(zip(sizes, _normalise_chunk(raw_images, bits, sizes, names, method), strict=True))
    bounds = np.linspace(0, n, workers * 4 + 1).astype(int)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(
            _normalise_chunk,
            [raw_images[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
            [bits] * (len(bounds) - 1),
            [sizes] * (len(bounds) - 1),
            [names[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
            [method] * (len(bounds) - 1),
        ))
        return {size: np.concatenate([part[k] for part in parts]) for k, size in enumerate(sizes)}
