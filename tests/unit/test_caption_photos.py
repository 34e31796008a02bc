"""`neta caption`: a batch of photos, each captioned or given an error line of its own."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from picture_fixtures import write_blank_png
from PIL import Image

from neta.boke.caption_photos import caption_photos
from neta.boke.checkpoint import save_captioner
from neta.boke.config import DecodeSettings
from neta.boke.dataset import FEATURE_ATTRS
from neta.boke.model import ShowAndTell
from neta.boke.vocab import Vocabulary
from neta.cli import main
from neta.features.backbones import build_extractor
from neta.images import ImageLimits
from neta.settings import validate_config

LIMITS = ImageLimits(max_pixels=50_000_000, max_side=20_000)


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    """An untrained Show and Tell over the mobilenet_v2 features `neta caption` makes: its captions are
    noise, but its way from a photo file to a JSON line is the real one."""
    folder = tmp_path_factory.mktemp("captioner")
    vocab = Vocabulary.build([["猫", "が", "笑う"], ["犬", "が", "走る"]], min_count=1)
    _, _, info = build_extractor("mobilenet_v2", "pooled", weights_file=None)
    attrs = info.attrs()
    torch.manual_seed(0)
    model = ShowAndTell(feature_dim=info.dim, vocab_size=len(vocab), embed_size=8, hidden_size=16, layers=1,
                        dropout=0.0, image_input="t0", pad_id=vocab.pad_id).eval()
    save_captioner(folder / "captioner.pt", model, model_config={}, vocab=vocab.to_json(),
                   features={key: attrs[key] for key in FEATURE_ATTRS}, settings={"language": "ja", "max_len": 30},
                   history=[])
    return folder / "captioner.pt"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for name in ("cat.jpg", "dog.png"):
        Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(folder / name)
    write_blank_png(folder / "huge.png", 20000, 20000)
    return folder


def test_one_bad_photo_gets_an_error_line_and_the_others_their_captions(captioner, photos, capsys, monkeypatch):
    monkeypatch.chdir(photos)
    given = ["cat.jpg", "huge.png", "dog.png"]
    assert main(["caption", "--model", str(captioner), *given, "--device", "cpu", "--beam", "2", "--top", "2"]) == 2
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [row["image"] for row in rows] == given
    assert [sorted(row) for row in rows] == [["captions", "image"], ["error", "image"], ["captions", "image"]]
    assert all(len(rows[i]["captions"]) == 2 for i in (0, 2))
    assert rows[1]["error"] == ("huge.png: the picture is 400,000,000 pixels, over the limit of 50,000,000 "
                                "(images.max_pixels); it was not decoded. Give a smaller picture, or raise the limit "
                                "with --max-pixels or images.max_pixels in config.yaml")
    assert captured.err.splitlines()[-1] == ('neta: error: 1 of 3 photos could not be used (huge.png); their lines '
                                             'have an "error" in place of a result')
    assert "Traceback" not in captured.err


def test_the_good_photos_are_captioned_as_when_given_alone(captioner, photos):
    decoding = DecodeSettings.of(validate_config({}))
    alone = caption_photos(captioner, [photos / "dog.png"], decoding=decoding, device="cpu", limits=LIMITS)
    mixed = caption_photos(captioner, [photos / "nothing.jpg", photos / "dog.png"], decoding=decoding,
                           device="cpu", limits=LIMITS)
    assert mixed[0] == {"image": str(photos / "nothing.jpg"), "error": f"{photos / 'nothing.jpg'}: no such file"}
    assert mixed[1] == alone[0]


def test_the_limit_is_a_flag(captioner, photos, capsys):
    argv = ["caption", "--model", str(captioner), str(photos / "cat.jpg"), "--device", "cpu", "--beam", "1"]
    assert main([*argv, "--max-side", "159"]) == 2
    assert "160 along a side, over the limit of 159 (images.max_side)" in json.loads(capsys.readouterr().out)["error"]
    assert main([*argv, "--max-side", "160"]) == 0
