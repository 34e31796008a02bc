"""Faint strokes and small pictures: ink is whatever lies above the paper's noise, and each stroke is
measured against its own darkness (neta.hiragana.normalise.PAPER_NOISE, LOCAL_PEAK)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from neta.fonts import ipaexgothic_path
from neta.hiragana.normalise import ink_map
from neta.hiragana.predict import prepare_image


def picture(char: str, *, ring_level: float | None = None, size: int = 160) -> Image.Image:
    """``char`` in black on white paper, at 0.55 of ``size``; with ``ring_level``, a handakuten's thin
    ring (2 pixels wide) to its upper right whose darkness is that fraction of the black."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(ipaexgothic_path()), int(size * 0.55))
    draw.text((size * 0.18, size * 0.22), char, fill=0, font=font)
    if ring_level is not None:
        grey = round(255 * (1.0 - ring_level))
        box = (size * 0.76, size * 0.12, size * 0.90, size * 0.26)
        draw.ellipse(box, outline=grey, width=2)
    return image


def test_a_faint_handakuten_ring_beside_a_dark_character_is_ink():
    """A ring a third as dark as the character (a light pencil's handakuten, or a thin one a small
    picture averages to grey) reaches the model: Otsu's split of the dark strokes from the paper
    dropped it, and ぱ read as は."""
    with_ring = prepare_image(picture("は", ring_level=0.3), 56, "ink_square").astype(np.float64)
    without = prepare_image(picture("は"), 56, "ink_square").astype(np.float64)
    # the ring widens the ink's box to the upper right, and its own pixels are ink there
    top_right = with_ring[:14, 42:]
    assert top_right.max() > 0.6 * with_ring.max(), top_right.max()
    assert np.abs(with_ring - without).mean() > 5.0


def test_a_faint_stroke_reaches_the_model_as_dark_as_the_dark_ones():
    """Two strokes of one width, one black and one at 40 % of that: both are strokes to the model."""
    grey = np.ones((120, 120), np.float32)
    grey[30:36, 20:100] = 0.0  # dark bar
    grey[40:100, 57:63] = 0.6  # faint bar below it, not touching
    ink = ink_map(grey, "two bars")
    assert ink.mask[60, 60] and ink.mask[33, 60]
    dark, faint = ink.soft[33, 40], ink.soft[70, 60]
    assert faint > 0.9 * dark, (faint, dark)


def test_paper_grain_is_still_not_ink():
    """Ink starts above the paper's noise: grainy paper round a character adds no ink to its mask."""
    rng = np.random.default_rng(0)
    clean = np.asarray(picture("ろ"), np.float32) / 255.0
    grainy = np.clip(clean - np.abs(rng.normal(0.0, 0.025, clean.shape)), 0.0, 1.0).astype(np.float32)
    mask_clean, mask_grainy = ink_map(clean, "clean").mask, ink_map(grainy, "grainy").mask
    assert mask_grainy.sum() <= 1.05 * mask_clean.sum()
    rows, cols = np.flatnonzero(mask_clean.any(axis=1)), np.flatnonzero(mask_clean.any(axis=0))
    outside = mask_grainy.copy()
    outside[rows[0] - 2 : rows[-1] + 3, cols[0] - 2 : cols[-1] + 3] = False
    assert not outside.any()


def pencil_sheet() -> np.ndarray:
    """A pencil character on grainy paper, grey (paper 1.0): three strokes 2 pixels wide at half the
    black, a voicing-mark-sized dot (4 x 4) at 0.35 in the character's upper right, and specks of the
    paper's grain (3 pixels each) at 0.35 inside the character's box, apart from the strokes."""
    grey = np.ones((200, 200), np.float32)
    grey[20:22, 10:190] = 0.5
    grey[20:190, 99:101] = 0.5
    grey[188:190, 10:190] = 0.5
    grey[40:44, 160:164] = 0.65
    for row, col in ((60, 40), (90, 150), (140, 60), (160, 130)):
        grey[row, col : col + 3] = 0.65
    return grey


def test_the_paper_grain_round_a_pencil_character_stays_as_faint_as_it_is():
    """A speck of a pencil paper's grain inside the character's box is not brightened to a stroke's
    darkness (it read as dots round the character, one of them where a dakuten goes), but a mark the
    size of a voicing mark's stroke, as faint, still is (neta.hiragana.normalise.SPECK_SHARE)."""
    ink = ink_map(pencil_sheet(), "pencil")
    stroke = ink.soft[21, 50]
    assert stroke > 0.95
    specks = [ink.soft[row, col + 1] for row, col in ((60, 40), (90, 150), (140, 60), (160, 130))]
    assert max(specks) < 0.8 * stroke, specks  # 0.35 of 0.5: 0.7, as faint as on the paper
    assert min(specks) > 0.5 * stroke, specks  # still ink: nothing is thrown away
    assert ink.soft[41, 161] > 0.95 * stroke  # the mark, measured against its own darkness
