"""model.pt: save_checkpoint and load_models are inverses; damaged files give clear errors."""

from __future__ import annotations

import pytest
import torch

from neta import __version__
from neta.errors import NetaError
from neta.hiragana.checkpoint import (
    REQUIRED_KEYS,
    load_models,
    model_classes,
    read_checkpoint,
    save_checkpoint,
)
from neta.hiragana.model import BatchNormCNN, HiraganaCNN, SoftmaxRegression

CLASSES = list("あいうえお")
META = {
    "normalise": "ink_box",
    "params": {"steps": 3, "lr_schedule": [[0, 1e-3], [2, 1e-4]], "device": "cpu"},
    "history": {"step": [1, 2, 3], "loss": [2.0, 1.5, 1.0], "accuracy": [0.1, 0.2, 0.3],
                "lr": [1e-3, 1e-3, 1e-4], "keep_prob": [1.0, 1.0, 0.5]},
    "baseline_history": {"step": [3], "loss": [1.6], "accuracy": [0.2], "lr": [0.005], "keep_prob": [1.0]},
    "train": {"n_images": 40, "n_writers": 4, "accuracy": {"cnn": 0.5, "baseline": 0.25},
              "cnn_seconds": 0.1, "baseline_seconds": 0.01, "etl_sha256": "0" * 64},
}


def _models():
    torch.manual_seed(3)
    cnn = HiraganaCNN(n_classes=len(CLASSES), size=16, init_std=0.05, bias_init=0.2, conv1=4, conv2=8, hidden=32)
    baseline = SoftmaxRegression(n_inputs=16 * 16, n_classes=len(CLASSES))
    with torch.no_grad():
        baseline.linear.weight.normal_()  # not the zero start, so the round trip is a real test
    return cnn, baseline


@pytest.fixture
def saved(tmp_path):
    cnn, baseline = _models()
    path = tmp_path / "model.pt"
    written = save_checkpoint(path, network="cnn", cnn=cnn, baseline=baseline, classes=CLASSES, size=16, **META)
    return path, cnn, baseline, written


def test_save_then_load_gives_identical_weights_and_metadata(saved):
    path, cnn, baseline, written = saved
    loaded = load_models(path, "cpu")
    for original, back in ((cnn, loaded.cnn), (baseline, loaded.baseline)):
        want, got = original.state_dict(), back.state_dict()
        assert list(want) == list(got)
        for key in want:
            assert torch.equal(want[key], got[key]), key
        assert back.arch == original.arch and not back.training
    assert loaded.classes == CLASSES and loaded.size == 16
    checkpoint = loaded.checkpoint
    assert list(checkpoint) == ["network", "cnn_state_dict", "baseline_state_dict", "arch", "classes", "size",
                                "normalise", "params", "history", "baseline_history", "train", "neta_version"]
    assert loaded.network == checkpoint["network"] == "cnn"
    assert loaded.normalise == "ink_box"
    for key, value in META.items():
        assert checkpoint[key] == value, key
    assert checkpoint["neta_version"] == __version__
    assert checkpoint["arch"] == {"cnn": cnn.arch, "baseline": baseline.arch}
    assert list(written) == list(checkpoint) and written["classes"] == CLASSES
    x = torch.rand(2, 1, 16, 16)
    # loaded channels-last, as the networks train (faster convolutions): the same layout, the same sums
    assert loaded.cnn.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    cnn.eval().to(memory_format=torch.channels_last)
    assert torch.equal(cnn(x), loaded.cnn(x))
    assert model_classes(path) == CLASSES


def test_checkpoint_opens_with_weights_only(saved):
    path, *_ = saved
    assert set(torch.load(path, weights_only=True)) >= set(REQUIRED_KEYS)


def test_damaged_or_foreign_checkpoints_name_the_file(saved, tmp_path):
    path, *_ = saved
    with pytest.raises(NetaError, match="missing.pt: no such hiragana checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(NetaError, match="truncated.pt: not a readable hiragana checkpoint"):
        load_models(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(NetaError, match=r"foreign.pt: not a hiragana checkpoint \(missing"):
        load_models(foreign)
    mismatched = tmp_path / "mismatched.pt"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["arch"]["cnn"]["hidden"] = 64
    torch.save(checkpoint, mismatched)
    with pytest.raises(NetaError, match="mismatched.pt: weights do not match"):
        load_models(mismatched)


def test_bn_cnn_checkpoint_round_trips_without_a_baseline(tmp_path):
    torch.manual_seed(4)
    net = BatchNormCNN(n_classes=len(CLASSES), size=16, stride=2, widths=[4, 4, 8], pool=2, dropout=0.2)
    net.train()
    net(torch.rand(8, 1, 16, 16))  # one training pass moves the batch-norm statistics off their start
    net.eval()
    path = tmp_path / "bn_cnn.pt"
    meta = {key: value for key, value in META.items() if key != "baseline_history"}
    save_checkpoint(path, network="bn_cnn", cnn=net, baseline=None, baseline_history=None, classes=CLASSES, size=16,
                    **meta)
    loaded = load_models(path)
    assert loaded.network == "bn_cnn" and loaded.baseline is None
    assert isinstance(loaded.cnn, BatchNormCNN) and not loaded.cnn.training
    assert "baseline_state_dict" not in loaded.checkpoint and "baseline" not in loaded.checkpoint["arch"]
    x = torch.rand(3, 1, 16, 16)
    net.to(memory_format=torch.channels_last)  # as load_models holds it
    assert torch.equal(net(x), loaded.cnn(x))  # running statistics included
    assert loaded.cnn.arch["stride"] == 2
    # a bn_cnn.pt of before the stride setting is refused by name, not guessed at
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["arch"]["cnn"]["stride"]
    torch.save(checkpoint, tmp_path / "old_bn_cnn.pt")
    with pytest.raises(NetaError, match=r"old_bn_cnn.pt: weights do not match the stored architecture.*retrain"):
        load_models(tmp_path / "old_bn_cnn.pt")
    with pytest.raises(TypeError, match="bn_cnn"):
        save_checkpoint(path, network="bn_cnn", cnn=_models()[0], baseline=None, baseline_history=None,
                        classes=CLASSES, size=16, **meta)


def test_a_checkpoint_of_an_unknown_network_names_it(saved, tmp_path):
    path, *_ = saved
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["network"] = "transformer"
    future = tmp_path / "future.pt"
    torch.save(checkpoint, future)
    with pytest.raises(NetaError, match=r"future.pt: holds a 'transformer' recognizer.*known: cnn, bn_cnn"):
        load_models(future)


def test_checkpoints_written_before_the_network_key_hold_the_tutorial_cnn(saved, tmp_path):
    path, cnn, *_ = saved
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["network"]
    older = tmp_path / "older.pt"
    torch.save(checkpoint, older)
    loaded = load_models(older)
    assert loaded.network == "cnn" and isinstance(loaded.cnn, HiraganaCNN)
