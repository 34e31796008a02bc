"""augment_pizza: the top-view crop, rotations and mirrors against Pillow, and the HDF5 it writes."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from neta.errors import NetaError
from neta.pizza.augment import augment_pizzas
from neta.pizza.config import AugmentSettings
from neta.pizza.rotations import RotationAugmenter
from neta.pizza.topview import crop_top_view

TOP_VIEW_X, SIDE, SIZE = 165, 380, 32
SAMPLE_ANGLES = (0, 1, 45, 90, 137, 270, 359)
# Mean |tensor - Pillow| per image, 0..255. Pillow's bilinear rotate truncates each sample to uint8
# (about -0.5 on average) and the resize_then_rotate reference rounds to uint8 twice; the tensor path
# rounds once, and torch's antialiased bilinear resize matches Pillow's BILINEAR shrink to within a
# level. Measured: at most 0.51. A wrong direction, centre (half a pixel) or black corners gives several
# to tens of levels on this pattern.
MEAN_BOUND = 1.0
# Angle 0 is no resampling at all: the only difference left is the rounding of the resize.
ANGLE0_MEAN_BOUND, ANGLE0_MAX_BOUND = 0.25, 1


def synthetic_photo(width: int = 710, height: int = SIDE, x0: int = TOP_VIEW_X) -> Image.Image:
    """A product photo with a distinctive asymmetric top view at x0: colour ramps (so the edge pixels
    that pad a rotation differ along each side), a block off-centre, a thin bar and a triangle."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([60 + 150 * xx / width, 40 + 180 * yy / height, 120 + 60 * np.sin(xx / 17)], axis=-1)
    local_x = xx - x0
    block = (local_x > 0.55 * height) & (local_x < 0.8 * height) & (yy > 0.1 * height) & (yy < 0.3 * height)
    rgb[block] = (230, 30, 20)
    rgb[(local_x > 0.2 * height) & (local_x < 0.24 * height) & (yy > 0.4 * height)] = (20, 20, 20)
    triangle = (local_x > 0.1 * height) & (yy > 0.6 * height) & (local_x - 0.1 * height < 0.5 * (yy - 0.6 * height))
    rgb[triangle] = (250, 250, 90)
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def pillow_rotate(image: Image.Image, angle: float) -> Image.Image:
    """Pillow reference: pad with edge pixels (no black corners), rotate bilinearly, crop back."""
    pixels = np.asarray(image)
    pad = math.ceil(pixels.shape[0] * (math.sqrt(2) - 1) / 2) + 2  # a turned square's corners stay on the padding
    padded = Image.fromarray(np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
    turned = padded.rotate(angle, resample=Image.BILINEAR)
    return turned.crop((pad, pad, pad + image.width, pad + image.height))


def pillow_reference(top_view: Image.Image, angle: int, flipped: bool, order: str, size: int) -> np.ndarray:
    """One image the per-image way -> (3, size, size) uint8."""
    if order == "rotate_then_resize":
        image = pillow_rotate(top_view, angle).resize((size, size), Image.BILINEAR)
    else:
        image = pillow_rotate(top_view.resize((size, size), Image.BILINEAR), angle)
    if flipped:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    return np.asarray(image).transpose(2, 0, 1)


def run(items, out, *, size=SIZE, angle_step=1, order="resize_then_rotate", max_failures=0):
    augment = AugmentSettings(size=size, angle_step=angle_step, flip=True, order=order, top_view_x=TOP_VIEW_X)
    return augment_pizzas(items, out, augment=augment, device="cpu", threads=2, max_failures=max_failures)


def recipe(seed: int, slots: int = 9, vocabulary: int = 28) -> np.ndarray:
    matrix = np.zeros((slots, vocabulary + 1), dtype=np.uint8)
    matrix[np.arange(slots), np.random.default_rng(seed).integers(0, vocabulary + 1, slots)] = 1
    return matrix


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --- the crop ---------------------------------------------------------------------------------------------


def test_crop_takes_the_top_view_of_a_2017_photo_and_square_photos_whole():
    photo = synthetic_photo()
    top = crop_top_view(photo, top_view_x=TOP_VIEW_X)
    assert top.size == (SIDE, SIDE) and top.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(top), np.asarray(photo)[:, TOP_VIEW_X : TOP_VIEW_X + SIDE])
    square = photo.crop((TOP_VIEW_X, 0, TOP_VIEW_X + SIDE, SIDE))
    np.testing.assert_array_equal(np.asarray(crop_top_view(square, top_view_x=TOP_VIEW_X)), np.asarray(square))


def test_crop_refuses_portrait_photos_and_a_top_view_that_does_not_fit():
    with pytest.raises(NetaError, match="portrait"):
        crop_top_view(Image.new("RGB", (300, 400)), top_view_x=TOP_VIEW_X)
    with pytest.raises(NetaError, match=r"500x380.*x=165 does not fit.*top_view_x must lie in 0\.\.120"):
        crop_top_view(Image.new("RGB", (500, 380)), top_view_x=TOP_VIEW_X)


def test_crop_converts_every_mode_to_rgb_transparency_on_white():
    transparent = Image.new("RGBA", (710, 380), (255, 0, 0, 0))
    transparent.paste((0, 0, 255, 255), (300, 100, 400, 200))
    top = np.asarray(crop_top_view(transparent, top_view_x=TOP_VIEW_X))
    assert top[0, 0].tolist() == [255, 255, 255] and top[150, 350 - TOP_VIEW_X].tolist() == [0, 0, 255]
    for mode in ("P", "L", "CMYK"):
        assert crop_top_view(synthetic_photo().convert(mode), top_view_x=TOP_VIEW_X).mode == "RGB"


# --- rotations and mirrors ----------------------------------------------------------------------------------


def test_positive_angle_turns_counter_clockwise_like_pillow():
    image = np.full((64, 64, 3), 255, dtype=np.uint8)
    image[28:36, 52:64] = (255, 0, 0)  # a red mark at the middle of the right edge
    turned = RotationAugmenter(size=64, angles=np.array([90]), flip=False, order="resize_then_rotate",
                               device=torch.device("cpu"))(Image.fromarray(image))[0]
    red = (turned[0] == 255) & (turned[1] == 0)
    assert red[0:12, 28:36].all() and red.sum() == 8 * 12  # now at the middle of the top edge, nothing else


@pytest.mark.parametrize("order", ["resize_then_rotate", "rotate_then_resize"])
def test_rotations_and_mirrors_match_a_per_image_pillow_reference(tmp_path, order):
    path = tmp_path / "pizza.png"
    synthetic_photo().save(path)
    out = tmp_path / "augmented.h5"
    run([("p1", path, recipe(1))], out, order=order)
    top_view = synthetic_photo().crop((TOP_VIEW_X, 0, TOP_VIEW_X + SIDE, SIDE))
    with h5py.File(out, "r") as handle:
        images, angles, flipped = handle["images"][()], handle["angles"][()], handle["flipped"][()]
    for angle in SAMPLE_ANGLES:
        for mirrored in (False, True):
            (row,) = np.flatnonzero((angles == angle) & (flipped == mirrored))
            reference = pillow_reference(top_view, angle, mirrored, order, SIZE)
            assert mean_abs(images[row], reference) < MEAN_BOUND, (angle, mirrored)
    plain = np.asarray(top_view.resize((SIZE, SIZE), Image.BILINEAR)).transpose(2, 0, 1)
    first = images[np.flatnonzero((angles == 0) & ~flipped)[0]]
    assert mean_abs(first, plain) < ANGLE0_MEAN_BOUND
    assert np.abs(first.astype(np.int16) - plain).max() <= ANGLE0_MAX_BOUND


def test_the_mirror_row_is_the_rotation_flipped_left_right(tmp_path):
    path = tmp_path / "pizza.png"
    synthetic_photo().save(path)
    run([("p1", path, recipe(1))], tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5", "r") as handle:
        images, angles, flipped = handle["images"][()], handle["angles"][()], handle["flipped"][()]
    np.testing.assert_array_equal(angles[0::2], angles[1::2])
    assert not flipped[0::2].any() and flipped[1::2].all()
    np.testing.assert_array_equal(images[1::2], images[0::2][..., ::-1])
    assert mean_abs(images[0], images[1]) > 20  # the pattern is asymmetric: a mirror really differs


# --- the stage and its HDF5 -----------------------------------------------------------------------------------


def test_stage_writes_one_pizza_a_chunk_with_labels_and_attrs(tmp_path):
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"pizza{i}.jpg")
        synthetic_photo().rotate(180 * i).save(paths[-1], quality=95)
    out = tmp_path / "augmented.h5"
    summary = run([("p0", paths[0], recipe(0)), ("p1", paths[1], recipe(1))], out)
    assert summary["pizzas"] == 2 and summary["images"] == 1440 and summary["failures"] == []
    with h5py.File(out, "r") as handle:
        images = handle["images"]
        assert images.shape == (1440, 3, SIZE, SIZE) and images.dtype == np.uint8
        assert images.chunks == (720, 3, SIZE, SIZE)  # one pizza, one read
        assert images.compression == "lzf"
        assert handle["recipes"].shape == (1440, 9, 29) and handle["recipes"].dtype == np.uint8
        np.testing.assert_array_equal(handle["recipes"][:720], np.repeat(recipe(0)[None], 720, axis=0))
        np.testing.assert_array_equal(handle["recipes"][720:], np.repeat(recipe(1)[None], 720, axis=0))
        assert handle["pizza_ids"].asstr()[()].tolist() == ["p0"] * 720 + ["p1"] * 720
        assert handle["angles"].dtype == np.int16 and handle["flipped"].dtype == np.bool_
        np.testing.assert_array_equal(handle["angles"][:720], np.repeat(np.arange(360), 2))
        np.testing.assert_array_equal(handle["flipped"][:720], np.tile([False, True], 360))
        attrs = dict(handle.attrs)
        assert (attrs["size"], attrs["order"], attrs["angle_step"], attrs["top_view_x"]) == (
            SIZE, "resize_then_rotate", 1, TOP_VIEW_X)
        assert attrs["stage"] == "augment_pizza" and str(paths[0]) in attrs["inputs_json"]
        assert not np.array_equal(images[0], images[720])  # the two pizzas differ


def test_bad_photos_are_reported_by_pizza_and_the_rest_written(tmp_path):
    good = tmp_path / "good.png"
    synthetic_photo().save(good)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG")
    small = tmp_path / "small.png"
    synthetic_photo(200, 20).save(small)  # its top view fits, at 20x20: smaller than the 32x32 images
    items = [("good", good, recipe(0)), ("corrupt", corrupt, recipe(1)), ("small", small, recipe(2)),
             ("missing", tmp_path / "missing.jpg", recipe(3))]
    out = tmp_path / "augmented.h5"
    summary = run(items, out, angle_step=90, max_failures=3)
    reasons = {f["pizza_id"]: f["reason"] for f in summary["failures"]}
    assert set(reasons) == {"corrupt", "small", "missing"}
    assert "corrupt.jpg: not a readable image" in reasons["corrupt"]
    assert "20x20 pixels, smaller than the 32x32" in reasons["small"]
    assert "cannot read" in reasons["missing"]
    with h5py.File(out, "r") as handle:
        assert handle["images"].shape == (8, 3, SIZE, SIZE)  # 4 angles x 2, the good pizza only
        assert set(handle["pizza_ids"].asstr()[()]) == {"good"}
        assert handle["angles"][()].tolist() == [0, 0, 90, 90, 180, 180, 270, 270]


def test_more_failures_than_allowed_stop_the_stage_and_write_nothing(tmp_path):
    good = tmp_path / "good.png"
    synthetic_photo().save(good)
    items = [("good", good, recipe(0)), ("gone", tmp_path / "gone.jpg", recipe(1))]
    with pytest.raises(NetaError, match=r"not written.*gone: .*gone\.jpg: cannot read"):
        run(items, tmp_path / "out.h5", angle_step=90, max_failures=0)
    assert not (tmp_path / "out.h5").exists()
    with pytest.raises(NetaError, match="none of the 1 pizzas"):
        run(items[1:], tmp_path / "out.h5", angle_step=90, max_failures=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.png"]
