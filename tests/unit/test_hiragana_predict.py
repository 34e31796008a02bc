"""`neta hiragana predict`: ordinary pictures of one character -> the model's input -> top-5 JSON lines.

The pictures are drawn here with Pillow and IPAexGothic on large, non-square canvases, with pen
widths and positions no ETL sheet has; a photo-like one has grey paper, uneven light and noise. The
prepared images are compared with the training images of the project's own synthetic ETL8G files.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from picture_fixtures import write_blank_png
from PIL import Image, ImageDraw, ImageFont

from neta.cli import main
from neta.errors import NetaError
from neta.fonts import ipaexgothic_path
from neta.hiragana.checkpoint import save_checkpoint
from neta.hiragana.dataset import load_etl_split, to_float_batch
from neta.hiragana.etl.convert import convert_etl
from neta.hiragana.etl.synth import synth_etl
from neta.hiragana.model import HiraganaCNN, SoftmaxRegression
from neta.hiragana.predict import predict_images, prepare_image
from neta.images import ImageLimits

SIZE = 28
NORMALISE = "ink_square"  # how the fixture's records are normalised, and so its pictures
CANVAS = (600, 400)  # width, height: large and not square, unlike an ETL frame
LIMITS = ImageLimits(max_pixels=50_000_000, max_side=20_000)


def font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(ipaexgothic_path()), px)


def draw(char: str, *, at=(360, 150), px=200, pen=7, canvas=CANVAS, mode="L") -> Image.Image:
    """Black ``char`` on white, drawn ``pen`` pixels bolder than the typeface, top-left corner ``at``."""
    image = Image.new(mode, canvas, "white")
    ImageDraw.Draw(image).text(at, char, font=font(px), fill="black", stroke_width=pen, stroke_fill="black")
    return image


def photo(char: str, rng: np.random.Generator) -> Image.Image:
    """Dark ink on grey paper under light falling from one side, with sensor noise, as a phone takes it."""
    ink = np.asarray(draw(char, at=(90, 230), px=260, pen=3, canvas=(800, 600)), np.float32) / 255.0
    yy, xx = np.mgrid[0:600, 0:800]
    light = 0.4 + 0.5 * (xx / 800) * (0.6 + 0.4 * yy / 600)
    grey = np.clip(light * (0.25 + 0.75 * ink) + rng.normal(0.0, 0.03, ink.shape), 0.0, 1.0)
    return Image.fromarray(np.rint(grey * 255).astype(np.uint8)).convert("RGB")


def bbox(image: np.ndarray) -> tuple[int, int, float, float]:
    """(height, width, centre row, centre column) of the pixels above a quarter of the image's peak."""
    rows, cols = np.nonzero(image > 0.25 * image.max())
    return (np.ptp(rows) + 1, np.ptp(cols) + 1, (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2)


@pytest.fixture(scope="module")
def etl(tmp_path_factory):
    """A few writers of the project's synthetic ETL8G sheets, converted as the workflow does."""
    root = tmp_path_factory.mktemp("etl")
    synth_etl(root / "ETL8G", fmt="ETL8G", writers=3, seed=11, writers_per_file=3)
    convert_etl(root / "ETL8G", "ETL8G", root / "etl_28.h5", size=SIZE, classes=71, test_fraction=0.34, seed=0,
                normalise=NORMALISE)
    return load_etl_split(root / "etl_28.h5", "train")


@pytest.fixture(scope="module")
def model(etl, tmp_path_factory):
    """A small CNN trained briefly on those images, in the checkpoint format `neta hiragana train` writes."""
    torch.manual_seed(0)
    cnn = HiraganaCNN(n_classes=len(etl.classes), size=SIZE, init_std=0.1, bias_init=0.1, conv1=8, conv2=16, hidden=64)
    x, y = to_float_batch(etl.images), torch.from_numpy(etl.labels)
    optimizer = torch.optim.Adam(cnn.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        idx = torch.from_numpy(rng.integers(0, len(x), 32))
        loss = F.cross_entropy(cnn(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    baseline = SoftmaxRegression(n_inputs=SIZE * SIZE, n_classes=len(etl.classes))
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_checkpoint(path, network="cnn", cnn=cnn, baseline=baseline, classes=etl.classes, size=SIZE,
                    normalise=etl.normalise, params={}, history={}, baseline_history={}, train={})
    return path


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """name -> path of the test pictures, and the character each shows."""
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(3)
    paths = {}

    def save(name, image, **options):
        paths[name] = folder / name
        image.save(paths[name], **options)

    save("canvas.png", draw("あ"))  # thick pen, right of and below the centre
    save("corner.png", draw("あ", at=(20, 10)))  # the same character, top-left
    save("small.png", draw("あ", px=70, pen=3, at=(480, 300)))  # small, bottom-right, thinner pen
    save("thin.png", draw("ね", pen=0, px=400, at=(100, 0), canvas=(900, 500)))  # a thin pen for its size
    save("canvas.jpg", draw("あ", mode="RGB"), quality=80)
    save("photo.jpg", photo("き", rng), quality=85)
    rgba = Image.new("RGBA", CANVAS, (0, 0, 0, 0))  # a drawing app's export: transparent, strokes opaque
    ImageDraw.Draw(rgba).text((150, 60), "ね", font=font(220), fill=(20, 20, 20, 255), stroke_width=6,
                              stroke_fill=(20, 20, 20, 255))
    save("transparent.png", rgba)
    save("opaque.png", draw("ね", at=(150, 60), px=220, pen=6))
    # stored turned a quarter left, with the EXIF tag that tells a viewer to turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    save("rotated.jpg", draw("ね", at=(150, 60), px=220, pen=6, mode="RGB").transpose(Image.Transpose.ROTATE_90),
         exif=exif, quality=95)
    bar = Image.new("L", CANVAS, 255)
    ImageDraw.Draw(bar).rectangle((280, 40, 310, 340), fill=0)  # tall and narrow: the aspect must survive
    save("bar.png", bar)
    save("white.png", Image.new("L", CANVAS, 255))
    paper = np.clip(235 + rng.normal(0, 3, (400, 600)), 0, 255).astype(np.uint8)
    save("paper.jpg", Image.fromarray(paper), quality=90)  # blank paper, a little noise, JPEG artefacts
    speck = Image.new("L", CANVAS, 255)
    ImageDraw.Draw(speck).ellipse((300, 200, 303, 203), fill=0)  # a speck of dust is no character
    save("speck.png", speck)
    (folder / "notes.txt").write_text("not a picture\n", encoding="utf-8")
    paths["notes.txt"] = folder / "notes.txt"
    return paths


# --- preprocessing ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["canvas.png", "small.png", "thin.png", "canvas.jpg", "photo.jpg",
                                  "transparent.png", "rotated.jpg"])
def test_pictures_look_like_the_training_images(name, pictures, etl):
    image = prepare_image(pictures[name], SIZE, NORMALISE)
    assert image.shape == (SIZE, SIZE) and image.dtype == np.uint8
    # ink high: the paper around the character is 0, the strokes bright
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    assert border.max() == 0 and image.max() > 150
    # cropped to the ink and centred, the longer side as long as a training character's
    height, width, row, col = bbox(image)
    assert abs(row - (SIZE - 1) / 2) <= 1.0 and abs(col - (SIZE - 1) / 2) <= 1.0
    train = etl.images.astype(np.float32)
    sides = np.array([max(bbox(im)[:2]) for im in train])
    lo, hi = np.percentile(sides, [5, 95])
    # (both are framed by the one normalisation, so the range is a pixel or two wide: a pixel of rounding)
    assert lo - 1 <= max(height, width) <= hi + 1
    # the training images' ink levels and amount of ink
    peaks = train.reshape(len(train), -1).max(1)
    lo, hi = np.percentile(peaks, [5, 95])
    assert lo - 5 <= image.max() <= hi + 5
    # the amount of ink: in the training range, up to half as much again (a dense あ or ね at the
    # writers' median pen, stretched to the square frame, against three writers of all 71 characters,
    # one of them a light pencil); a blob or a hairline would fall far outside
    mass = train.reshape(len(train), -1).sum(1)
    lo, hi = np.percentile(mass, [2, 98])
    assert 0.8 * lo <= image.sum() <= 1.5 * hi, (image.sum(), lo, hi)


def test_position_scale_pen_and_format_do_not_matter(pictures):
    canvas = prepare_image(pictures["canvas.png"], SIZE, NORMALISE).astype(np.float32)
    # a whole-pixel shift: identical
    assert np.array_equal(canvas, prepare_image(pictures["corner.png"], SIZE, NORMALISE))

    def similarity(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    assert similarity(canvas, prepare_image(pictures["canvas.jpg"], SIZE, NORMALISE).astype(np.float32)) > 0.97
    assert similarity(canvas, prepare_image(pictures["small.png"], SIZE, NORMALISE).astype(np.float32)) > 0.8
    # a thick and a thin pen end up with strokes of the same weight
    thick, thin = (prepare_image(pictures[n], SIZE, NORMALISE).sum() for n in ("canvas.png", "small.png"))
    assert 0.75 < thick / thin < 1.33


def test_transparency_is_white_paper_and_exif_orientation_is_applied(pictures):
    opaque = prepare_image(pictures["opaque.png"], SIZE, NORMALISE).astype(np.int16)
    # the two differ in their strokes' antialiasing only: the thick pen's thinning, interpolated from
    # 2-pixel cells, may move an edge pixel by a few levels (transparency read as black would not be close)
    difference = np.abs(prepare_image(pictures["transparent.png"], SIZE, NORMALISE) - opaque)
    assert difference.max() <= 16 and difference.mean() < 0.5
    rotated = prepare_image(pictures["rotated.jpg"], SIZE, NORMALISE).astype(np.float32)
    upright = np.abs(rotated - opaque).mean()
    assert upright < 3  # upright again (JPEG noise aside)
    assert np.abs(np.rot90(rotated) - opaque).mean() > max(10.0, 3 * upright)


def test_aspect_ratio_is_kept_and_any_size_is_made(pictures):
    bar = prepare_image(pictures["bar.png"], SIZE, NORMALISE)
    height, width, _, _ = bbox(bar)
    assert height >= 16 and width <= 5  # 31 x 301 pixels: not stretched to a square
    for size in (16, 32, 64):
        assert prepare_image(pictures["canvas.png"], size, NORMALISE).shape == (size, size)


@pytest.mark.parametrize("name", ["white.png", "paper.jpg", "speck.png", "notes.txt", "missing.png"])
def test_empty_or_unreadable_pictures_are_errors_naming_the_file(name, pictures, tmp_path):
    path = pictures.get(name, tmp_path / name)
    with pytest.raises(NetaError) as error:
        prepare_image(path, SIZE, NORMALISE)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


# --- prediction and the command line ----------------------------------------------------------


def test_predict_gives_five_sorted_probabilities_an_image(model, pictures, etl):
    paths = [str(pictures[n]) for n in ("canvas.png", "photo.jpg", "transparent.png")]
    rows = predict_images(model, paths, top=5, device="cpu", limits=LIMITS)
    assert [row["image"] for row in rows] == paths
    for row in rows:
        assert list(row) == ["image", "top5"] and len(row["top5"]) == 5
        probs = [item["p"] for item in row["top5"]]
        assert probs == sorted(probs, reverse=True) and all(0.0 <= p <= 1.0 for p in probs)
        assert sum(probs) <= 1.0
        chars = [item["char"] for item in row["top5"]]
        assert len(set(chars)) == 5 and set(chars) <= set(etl.classes)
    rows = predict_images(model, [str(pictures["notes.txt"]), paths[0]], top=5, device="cpu", limits=LIMITS)
    assert list(rows[0]) == ["image", "error"] and rows[0]["error"].startswith(f"{pictures['notes.txt']}: ")
    assert rows[1]["top5"] == predict_images(model, paths[:1], top=5, device="cpu", limits=LIMITS)[0]["top5"]


def test_command_prints_one_json_line_an_image_with_the_path_as_given(model, pictures, capsys, monkeypatch):
    monkeypatch.chdir(pictures["canvas.png"].parent)
    given = ["canvas.png", "./photo.jpg", str(pictures["rotated.jpg"])]
    assert main(["hiragana", "predict", "--model", str(model), *given, "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert [row["image"] for row in rows] == given
    assert all(len(row["top5"]) == 5 for row in rows)
    assert all("\\u" not in line for line in lines)  # characters printed as themselves



def test_a_bad_picture_gets_an_error_line_and_the_batch_goes_on(model, pictures, capsys, monkeypatch):
    monkeypatch.chdir(pictures["canvas.png"].parent)
    write_blank_png(pictures["canvas.png"].parent / "huge.png", 20000, 20000)
    given = ["canvas.png", "huge.png", "photo.jpg", "white.png"]
    assert main(["hiragana", "predict", "--model", str(model), *given, "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [row["image"] for row in rows] == given
    assert [sorted(row) for row in rows] == [["image", "top5"], ["error", "image"], ["image", "top5"],
                                             ["error", "image"]]
    assert rows[1]["error"].startswith("huge.png: the picture is 400,000,000 pixels, over the limit of 50,000,000")
    assert "no writing" in rows[3]["error"]
    errors = [line for line in captured.err.splitlines() if line.startswith("neta: error:")]
    assert errors == ["neta: error: 2 of 4 pictures could not be used (huge.png, white.png); their lines have an "
                      '"error" in place of a result']
    assert "Traceback" not in captured.err


def test_the_pixel_limit_is_a_flag(model, pictures, capsys):
    canvas = str(pictures["canvas.png"])  # 600 x 400
    argv = ["hiragana", "predict", "--model", str(model), canvas, "--device", "cpu"]
    assert main([*argv, "--max-pixels", "239999"]) == 2
    row = json.loads(capsys.readouterr().out)
    assert row["error"] == (f"{canvas}: the picture is 600x400 = 240,000 pixels, over the limit of 239,999 "
                            "(images.max_pixels); it was not decoded. Give a smaller picture, or raise the limit "
                            "with --max-pixels or images.max_pixels in config.yaml")
    assert main([*argv, "--max-pixels", "240000"]) == 0
    assert len(json.loads(capsys.readouterr().out)["top5"]) == 5
