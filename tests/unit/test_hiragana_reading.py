"""How the recognizers read a batch (neta.hiragana.reading): the batch-normalised CNN at three zooms."""

import numpy as np
import pytest
import torch

from neta.hiragana.model import BatchNormCNN, HiraganaCNN
from neta.hiragana.predict import HiraganaPredictor
from neta.hiragana.reading import class_probabilities, read_classes, zoomed


def _square(side: int, size: int = 56) -> torch.Tensor:
    x = torch.zeros(1, 1, size, size)
    lo = (size - side) // 2
    x[..., lo : lo + side, lo : lo + side] = 1.0
    return x


def _ink_extent(x: torch.Tensor) -> tuple[int, int, int, int]:
    rows = torch.nonzero(x[0, 0].amax(1) > 0.5).flatten()
    cols = torch.nonzero(x[0, 0].amax(0) > 0.5).flatten()
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.mark.parametrize(("scale", "side"), [(1.0, 20), (0.9, 18), (1.1, 22)])
def test_a_zoom_scales_the_character_about_the_frames_centre(scale, side):
    top, bottom, left, right = _ink_extent(zoomed(_square(20), scale))
    assert bottom - top + 1 == pytest.approx(side, abs=1)
    assert right - left + 1 == pytest.approx(side, abs=1)
    assert (top + bottom) / 2 == pytest.approx(27.5, abs=0.5) and (left + right) / 2 == pytest.approx(27.5, abs=0.5)


def _by_ink_area(threshold: float):
    """A stand-in network: class 0 when more than ``threshold`` pixels are ink, else class 1, surely."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        big = ((x > 0.5).flatten(1).sum(1) > threshold).float()
        return torch.stack([big, 1.0 - big], 1) * 50.0
    return forward


def test_the_batch_normalised_cnn_reads_a_character_at_three_zooms_and_averages_them():
    model = BatchNormCNN(n_classes=2, size=56, stride=2, widths=[4, 4, 4], pool=1, dropout=0.0)
    # a 20-pixel square has 400 ink pixels: only the 10 % larger view (~484) passes 440
    model.forward = _by_ink_area(440)
    probs = class_probabilities(model, _square(20))
    np.testing.assert_allclose(probs.numpy(), [[1 / 3, 2 / 3]], atol=1e-4)
    assert read_classes(model, _square(20)).tolist() == [1]
    # two of three views are large: the average reads class 0
    model.forward = _by_ink_area(350)
    assert read_classes(model, _square(20)).tolist() == [0]


def test_the_tutorial_cnn_the_seeds_reproduction_reads_once():
    model = HiraganaCNN(n_classes=2, size=28, init_std=0.1, bias_init=0.1)
    model.forward = _by_ink_area(110)  # 10 x 10 = 100 pixels; the 10 % larger view would pass
    np.testing.assert_allclose(class_probabilities(model, _square(10, 28)).numpy(), [[0.0, 1.0]], atol=1e-6)


def test_reading_keeps_the_models_mode_and_reads_an_empty_batch():
    model = BatchNormCNN(n_classes=3, size=56, stride=2, widths=[4, 4, 4], pool=1, dropout=0.5).train()
    probs = class_probabilities(model, torch.rand(5, 1, 56, 56))
    assert probs.shape == (5, 3) and torch.allclose(probs.sum(1), torch.ones(5))
    assert model.training
    assert read_classes(model, torch.empty(0, 1, 56, 56)).shape == (0,)


def test_predict_gives_the_probabilities_eval_reads(monkeypatch):
    model = BatchNormCNN(n_classes=2, size=56, stride=2, widths=[4, 4, 4], pool=1, dropout=0.0)
    model.forward = _by_ink_area(440)
    predictor = object.__new__(HiraganaPredictor)  # the loaded model without a checkpoint file
    predictor.device = torch.device("cpu")
    predictor.classes = ["は", "ば"]
    predictor.models = type("Loaded", (), {"cnn": model})()
    image = (_square(20)[0, 0].numpy() * 255).astype(np.uint8)
    [top] = predictor.predict_prepared(image[None], top=2)
    assert [row["char"] for row in top] == ["ば", "は"]
    assert top[0]["p"] == pytest.approx(2 / 3, abs=1e-4) and top[1]["p"] == pytest.approx(1 / 3, abs=1e-4)


def test_eval_reads_as_predict_does():
    from neta.hiragana.checkpoint import LoadedModels
    from neta.hiragana.evaluate import _score

    model = BatchNormCNN(n_classes=2, size=56, stride=2, widths=[4, 4, 4], pool=1, dropout=0.0)
    model.forward = _by_ink_area(350)  # read once, the 20-pixel square is class 1; at three zooms, 0
    loaded = LoadedModels(cnn=model, baseline=None, network="bn_cnn", classes=["は", "ば"], size=56, checkpoint={},
                          normalise="ink_square")
    image = (_square(20)[0, 0].numpy() * 255).astype(np.uint8)
    scored = _score(loaded, np.stack([image, image]), np.array([0, 0]), torch.device("cpu"))
    assert scored["cnn_pred"].tolist() == [0, 0] and scored["metrics"]["cnn"]["accuracy"] == 1.0
