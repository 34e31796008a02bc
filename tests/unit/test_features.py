"""extract_features end to end: real photos (scikit-image's bundled samples), real weights, real HDF5.

Tolerances: the same batches give bit-identical vectors (workers, shards); another batch composition
may change the low bits of CPU kernels, so batch size 1 vs 32 is held to 1e-4 of the largest value;
onnxruntime vs torch to 1e-4 relative and a cosine >= 0.9999; the stage vs a plain torchvision
forward pass to a cosine >= 0.999 per image (the brief's floor; it is ~1.0).
"""

import hashlib
import logging

import h5py
import numpy as np
import pytest
import skimage.data
import torch
import torchvision
from PIL import Image
from torchvision.transforms import functional as F

from neta.errors import NetaError
from neta.features.backbones import _SPECS as BACKBONE_SPECS
from neta.features.backbones import BACKBONES
from neta.features.config import FeatureSettings
from neta.features.extract import extract_features, merge_feature_shards
from neta.features.inputs import images_from, shard_of
from neta.features.preprocess import ResizeCrop
from neta.features.weights import packaged_weights_path
from neta.settings import validate_config

SAMPLES = ("coffee", "astronaut", "chelsea", "rocket", "cat", "hubble_deep_field")
N_PHOTOS, BATCH = 13, 4  # 4 batches of 4, the last one short: shards of 3 get [1, 1, 2] batches
COFFEE_CLASSES = {967: "espresso", 968: "cup", 504: "coffee mug"}


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """A download manifest of small JPEG variants of bundled photos, listed out of name order,
    with a failed row and a second URL of one photo (kept once)."""
    folder = tmp_path_factory.mktemp("images")
    rows = []
    for i in range(N_PHOTOS):
        photo = getattr(skimage.data, SAMPLES[i % len(SAMPLES)])()
        crop = Image.fromarray(photo[i * 7 :, i * 5 :]).resize((112 + 8 * i, 96))
        path = folder / f"{i:02d}.jpg"
        crop.save(path, quality=90)
        rows.append(f"http://x.test/{i},{hashlib.sha256(path.read_bytes()).hexdigest()},{path.name},,,,ok,")
    rows = rows[::2] + rows[1::2] + ["http://x.test/gone,,,,,,http_error,404", rows[3].replace("/3,", "/3b,")]
    (folder / "manifest.csv").write_text("url,sha256,path,bytes,width,height,status,error\n" + "\n".join(rows) + "\n")
    return folder / "manifest.csv"


def extract(items, out, *, onnx_dir=None, **overrides):
    """extract_features on the CPU with 2 threads; ``overrides``: values of the features section."""
    features = dict(backbone="mobilenet_v2", layer="pooled", batch_size=BATCH, workers=0, backend="torch",
                    dtype="float32", max_failure_ratio=0.0)
    settings = FeatureSettings.of(validate_config({"features": {**features, **overrides}}))
    summary = extract_features(items, out, settings=settings, device="cpu", threads=2, onnx_dir=onnx_dir)
    with h5py.File(out, "r") as handle:
        return handle["features"][()], handle["image_ids"].asstr()[()], dict(handle.attrs), summary


@pytest.fixture(scope="module")
def reference(manifest, tmp_path_factory):
    return extract(images_from(manifest), tmp_path_factory.mktemp("reference") / "features.h5")


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def test_rows_follow_the_manifest_and_attrs_say_what_they_are(manifest, reference):
    features, ids, attrs, summary = reference
    listed = [line.split(",")[1] for line in manifest.read_text().splitlines()[1:] if line.endswith(",ok,")]
    assert list(ids) == list(dict.fromkeys(listed)) and len(ids) == N_PHOTOS
    assert features.shape == (N_PHOTOS, 1280) and features.dtype == np.float32
    assert attrs["backbone"] == "mobilenet_v2" and attrs["layer"] == "pooled"
    assert attrs["weights_file"] == "mobilenet_v2-b0353104.pth"
    assert attrs["weights_sha256"].startswith("b0353104") and attrs["input_size"] == 224
    assert list(attrs["mean"]) == [0.485, 0.456, 0.406] and list(attrs["std"]) == [0.229, 0.224, 0.225]
    assert (attrs["backend"], attrs["device"], attrs["dtype"], attrs["n_failed"]) == ("torch", "cpu", "float32", 0)
    assert summary["images"] == N_PHOTOS


def test_vectors_are_a_plain_torchvision_forward_pass(manifest, reference):
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(packaged_weights_path("mobilenet_v2"), weights_only=True))
    model.eval()
    images = torch.stack([weights.transforms()(Image.open(path).convert("RGB")) for _, path in images_from(manifest)])
    with torch.inference_mode():  # MobileNetV2.forward up to its classifier
        plain = torch.nn.functional.adaptive_avg_pool2d(model.features(images), 1).flatten(1).numpy()
    assert cosines(reference[0], plain).min() >= 0.999


def test_batch_size_does_not_change_the_vectors(manifest, tmp_path):
    one = extract(images_from(manifest), tmp_path / "b1.h5", batch_size=1)[0]
    many = extract(images_from(manifest), tmp_path / "b32.h5", batch_size=32)[0]
    np.testing.assert_allclose(one, many, rtol=0, atol=1e-4 * np.abs(many).max())


def test_worker_processes_give_the_same_bits(manifest, reference, tmp_path):
    features, ids, _, _ = extract(images_from(manifest), tmp_path / "w2.h5", workers=2)
    assert np.array_equal(features, reference[0]) and list(ids) == list(reference[1])


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_three_shards_merge_into_the_single_jobs_file(backend, manifest, onnx_dir, tmp_path):
    items = images_from(manifest)
    extract(items, tmp_path / "single.h5", backend=backend, onnx_dir=onnx_dir)
    shards = []
    for k in range(3):
        shards.append(tmp_path / f"shard{k}.h5")
        extract(shard_of(items, shard=k, shards=3, batch_size=BATCH), shards[-1], backend=backend, onnx_dir=onnx_dir)
    summary = merge_feature_shards(shards, tmp_path / "merged.h5")
    with h5py.File(tmp_path / "merged.h5", "r") as handle, h5py.File(tmp_path / "single.h5", "r") as one:
        for name in ("features", "image_ids"):
            assert handle[name].dtype == one[name].dtype and handle[name].chunks == one[name].chunks
        assert handle["features"][()].tobytes() == one["features"][()].tobytes()  # bit for bit
        assert list(handle["image_ids"].asstr()) == list(one["image_ids"].asstr())
        differing = {k for k in set(handle.attrs) | set(one.attrs)
                     if not np.array_equal(handle.attrs.get(k), one.attrs.get(k))}
    assert differing == {"inputs_json"}  # the merge's inputs are the shard files
    assert summary["images"] == N_PHOTOS


def test_onnx_matches_torch_and_is_exported_once(manifest, reference, onnx_dir, tmp_path, monkeypatch):
    features, ids, attrs, _ = extract(images_from(manifest), tmp_path / "onnx.h5", backend="onnx", onnx_dir=onnx_dir)
    assert attrs["backend"] == "onnx" and attrs["onnx_model"] == "mobilenet_v2-pooled-b0353104.onnx"
    assert sorted(p.name for p in onnx_dir.iterdir()) == ["mobilenet_v2-pooled-b0353104.onnx"]
    assert np.abs(features - reference[0]).max() <= 1e-4 * np.abs(reference[0]).max()
    assert cosines(features, reference[0]).min() >= 0.9999 and list(ids) == list(reference[1])

    def no_second_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_second_export)
    again = extract(images_from(manifest), tmp_path / "again.h5", backend="onnx", onnx_dir=onnx_dir)[0]
    assert np.array_equal(again, features)


def test_onnx_threads_each_decoding_and_inferring_give_the_one_thread_vectors(manifest, onnx_dir, tmp_path):
    items = images_from(manifest)
    alone, ids, _, _ = extract(items, tmp_path / "main.h5", backend="onnx", onnx_dir=onnx_dir)
    side_by_side, ids2, attrs, _ = extract(items, tmp_path / "threads.h5", backend="onnx", onnx_dir=onnx_dir,
                                           workers=3)
    assert list(ids2) == list(ids) and attrs["n_failed"] == 0
    np.testing.assert_allclose(side_by_side, alone, rtol=0, atol=1e-5 * np.abs(alone).max())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_one_step_resize_crop_is_the_presets_resize_then_crop(backbone):
    """ResizeCrop resamples only the kept box: Pillow's rounding moves some values by a grey level or a few."""
    preset = torchvision.models.get_weight(BACKBONE_SPECS[backbone].weights).transforms()
    one_step = ResizeCrop(preset)
    for name in SAMPLES:
        photo = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        # landscape, portrait (the crop offset on the other axis) and one scaled up to the resize size
        for image in (photo, photo.transpose(Image.Transpose.TRANSPOSE), photo.resize((301, 199))):
            resized = F.resize(image, preset.resize_size, interpolation=preset.interpolation, antialias=True)
            expected = F.pil_to_tensor(F.center_crop(resized, preset.crop_size)).int()
            found = one_step(image).int()
            assert found.shape == expected.shape == (3, *preset.crop_size * (3 - len(preset.crop_size)))
            difference = (found - expected).abs()
            assert difference.max() <= 8 and difference.float().mean() <= 0.25, f"{backbone}: {name} {image.size}"


def test_imagenet_weights_see_coffee_in_the_coffee_photo(tmp_path):
    Image.fromarray(skimage.data.coffee()).save(tmp_path / "coffee.png")
    logits = extract(images_from(tmp_path), tmp_path / "logits.h5", layer="logits")[0][0]
    top5 = set(np.argsort(logits)[::-1][:5].tolist())
    assert top5 & set(COFFEE_CLASSES), f"top-5 {top5} has none of {COFFEE_CLASSES}"


@pytest.mark.parametrize("backend, workers", [("torch", 0), ("onnx", 2)])  # onnx, 2: threads decode and infer
def test_unreadable_images_are_named_counted_and_bounded(backend, workers, manifest, onnx_dir, tmp_path, caplog):
    folder = tmp_path / "photos"
    folder.mkdir()
    good = [path for _, path in images_from(manifest)[:3]]
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "zz_text.jpg").write_bytes(b"this is no JPEG")
    (folder / "zz_truncated.jpg").write_bytes(good[0].read_bytes()[:300])
    items = images_from(folder)
    run = dict(backend=backend, workers=workers, onnx_dir=onnx_dir, batch_size=2)
    with caplog.at_level(logging.WARNING):
        features, ids, attrs, summary = extract(items, tmp_path / "some.h5", max_failure_ratio=0.5, **run)
    assert features.shape[0] == 3 and attrs["n_failed"] == 2 and summary["n_failed"] == 2
    assert "zz_text.jpg" in caplog.text and "zz_truncated.jpg" in caplog.text
    assert [f["path"] for f in summary["failed"]] == [str(folder / "zz_text.jpg"), str(folder / "zz_truncated.jpg")]
    with pytest.raises(NetaError, match=r"2 of 5 images.*zz_text\.jpg"):
        extract(items, tmp_path / "none.h5", max_failure_ratio=0.2, **run)
    assert not (tmp_path / "none.h5").exists()


def test_float16_storage_and_an_empty_shard(manifest, reference, tmp_path):
    half = extract(images_from(manifest)[:BATCH], tmp_path / "half.h5", dtype="float16")[0]
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, reference[0][:BATCH], rtol=1e-3, atol=1e-3)
    empty, ids, attrs, _ = extract([], tmp_path / "empty.h5")
    assert empty.shape == (0, 1280) and len(ids) == 0 and attrs["n_failed"] == 0
