"""neta.images: one way in for every outside picture, refused over the limit before it is decoded."""

from __future__ import annotations

import io
import pickle
import time
import warnings
from pathlib import Path

import pytest
from picture_fixtures import blank_png, write_blank_png
from PIL import Image, ImageFile

from neta.boke.photos import check_photo
from neta.cli import main
from neta.errors import NetaError
from neta.images import ImageLimits, ImageRefused, open_image, save_format
from neta.scrape.download import ImageRejected, check_image
from neta.settings import validate_config

LIMITS = ImageLimits.of(validate_config({}))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails a test that decodes a pixel: a refusal must come from the header alone."""
    def load(self):
        raise AssertionError(f"decoded a {self.size} picture")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def picture(path: Path, size=(60, 40), fmt="PNG") -> Path:
    Image.new("RGB", size, (200, 120, 40)).save(path, format=fmt)
    return path


def test_the_limit_is_one_schema_section_with_its_defaults():
    assert validate_config({})["images"] == {"max_pixels": 50_000_000, "max_side": 20_000}
    assert LIMITS == ImageLimits(max_pixels=50_000_000, max_side=20_000)
    with pytest.raises(NetaError, match="images.max_pixels"):
        validate_config({"images": {"max_pixels": 200_000_000}})  # more than Pillow opens
    assert "max_pixels" not in validate_config({})["serve"]  # the app has no limit of its own


@pytest.mark.parametrize("width, height, shown", [
    (20000, 20000, "400,000,000 pixels"),  # past Pillow's own guard: its error, in neta's words
    (12000, 12000, "12000x12000 = 144,000,000 pixels"),  # past Pillow's warning only
    (8000, 7000, "8000x7000 = 56,000,000 pixels"),  # under both: neta's check alone
])
def test_a_picture_over_the_limit_is_refused_from_its_header(width, height, shown, tmp_path, no_decoding):
    path = write_blank_png(tmp_path / "huge.png", width, height)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ImageRefused) as refused:
            open_image(path, LIMITS)
    assert time.perf_counter() - started < 1.0
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]  # one message only
    message = str(refused.value)
    assert refused.value.reason == "too_large" and "\n" not in message
    assert message.startswith(f"{path}: ") and shown in message
    assert "50,000,000 (images.max_pixels)" in message and "--max-pixels" in message


def test_the_limits_are_configurable(tmp_path):
    path = picture(tmp_path / "photo.png", size=(3000, 2000))
    assert open_image(path, ImageLimits(max_pixels=6_000_000, max_side=3000)).size == (3000, 2000)
    with pytest.raises(ImageRefused, match=r"3000x2000 = 6,000,000 pixels, over the limit of 5,999,999"):
        open_image(path, ImageLimits(max_pixels=5_999_999, max_side=3000))
    with pytest.raises(ImageRefused, match=r"3,000 along a side, over the limit of 2,999 \(images.max_side\)"):
        open_image(path, ImageLimits(max_pixels=6_000_000, max_side=2999))
    assert ImageLimits.of(validate_config({"images": {"max_pixels": 6_000_000}})).max_pixels == 6_000_000


def test_bytes_are_opened_the_same_way_under_the_name_given(no_decoding):
    with pytest.raises(ImageRefused, match=r"^the upload: the picture is 400,000,000 pixels"):
        open_image(blank_png(20000, 20000), LIMITS, name="the upload")


@pytest.mark.parametrize("name, content, reason, says", [
    ("notes.png", b"not a picture\n", "not_image", "not a picture Pillow can read"),
    ("cut.png", None, "undecodable", "does not decode"),
    ("missing.png", False, "unreadable", "no such file"),
])
def test_whatever_pillow_raises_is_one_line_naming_the_file(name, content, reason, says, tmp_path):
    path = tmp_path / name
    if content is None:
        whole = io.BytesIO()
        Image.effect_noise((300, 300), 60).save(whole, format="PNG")
        path.write_bytes(whole.getvalue()[:400])  # the header is there, the pixels are not
    elif content:
        path.write_bytes(content)
    with pytest.raises(ImageRefused) as refused:
        open_image(path, LIMITS)
    assert refused.value.reason == reason and str(refused.value).startswith(f"{path}: ")
    assert says in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(ImageRefused, match="is a directory"):
        open_image(tmp_path, LIMITS)


def test_a_format_not_asked_for_is_refused(tmp_path):
    path = picture(tmp_path / "a.gif", fmt="GIF")
    with pytest.raises(ImageRefused, match="a GIF image; give a PNG or JPEG file") as refused:
        open_image(path, LIMITS, formats=("PNG", "JPEG"))
    assert refused.value.reason == "not_image"


def test_downloads_and_dataset_photos_use_the_same_limit(tmp_path, no_decoding):
    with pytest.raises(ImageRejected, match="images.max_pixels") as rejected:
        check_image(blank_png(20000, 20000), LIMITS)
    assert rejected.value.status == "too_many_pixels"
    row = check_photo(write_blank_png(tmp_path / "huge.png", 12000, 12000), LIMITS)
    assert row["status"] == "error" and "huge.png" in row["error"] and "images.max_pixels" in row["error"]


@pytest.mark.parametrize("name, fmt", [("p.png", "PNG"), ("p.JPG", "JPEG"), ("p.jpeg", "JPEG"),
                                       ("p.webp", "WEBP")])
def test_a_written_picture_takes_the_format_of_its_suffix(name, fmt):
    assert save_format(name) == fmt


@pytest.mark.parametrize("name", ["p7.txt", "pizza", "p.gif"])
def test_a_suffix_naming_no_picture_format_is_refused(name):
    with pytest.raises(NetaError, match=rf"^{name}: .*give a file ending in \.png, \.jpg, \.jpeg, \.webp"):
        save_format(name)


def test_pizza_generate_refuses_a_txt_out_before_loading_anything(tmp_path, capsys):
    out = tmp_path / "p7.txt"
    argv = ["pizza", "generate", "--model", str(tmp_path / "absent.pt"), "--ingredients", "пепперони",
            "--out", str(out)]
    assert main(argv) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[-1].startswith(f"neta: error: {out}: the suffix .txt names no picture format")
    assert not out.exists()


def test_a_refusal_crosses_a_process_boundary_whole():
    refused = pickle.loads(pickle.dumps(ImageRefused("x.png: too big", "too_large")))
    assert isinstance(refused, NetaError) and str(refused) == "x.png: too big" and refused.reason == "too_large"
