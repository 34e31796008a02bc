"""Training and evaluation of the hiragana models on a small, learnable, writer-split HDF5 file."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from neta.device import native_bf16
from neta.errors import NetaError
from neta.h5io import write_h5
from neta.hiragana.augment import augment_batch
from neta.hiragana.checkpoint import load_models
from neta.hiragana.config import HiraganaAugment, HiraganaBaseline, HiraganaBnCnn, HiraganaTrain
from neta.hiragana.evaluate import evaluate_arrays, evaluate_hiragana, model_classes
from neta.hiragana.train import train_hiragana
from neta.hiragana.train_bn_cnn import train_bn_cnn
from neta.settings import load_schema, validate_config, with_defaults

CLASSES = list("あいうえおかきく")
TRAIN_WRITERS, TEST_WRITERS = range(0, 8), range(8, 11)
PER_WRITER = 4  # samples of each class by each writer

SETTINGS = validate_config({"hiragana": {
    "train": {"steps": 60, "batch_size": 32, "lr_schedule": [[0, 1e-3], [40, 3e-4]],
              "keep_prob_schedule": [[0, 1.0], [30, 0.5]], "init_std": 0.1, "bias_init": 0.1},
    "baseline": {"steps": 200, "lr": 0.05, "batch_size": 32},
    # the toy classes are bars a few pixels apart: the tests of learning train on them as they are
    "augment": {"enabled": False},
}})
TRAIN_ARGS = dict(
    train=HiraganaTrain.of(SETTINGS),
    baseline=HiraganaBaseline.of(SETTINGS),
    augment=HiraganaAugment.of(SETTINGS),
    seed=7,
    device="cpu",
    threads=1,
    log_every=10,
)
AUGMENT = with_defaults({})["hiragana"]["augment"]  # the schema's defaults
SCHEMA = load_schema()["properties"]["hiragana"]["properties"]  # the hiragana sections of the config schema


def augment_of(**changes) -> HiraganaAugment:
    """The hiragana.augment section of a validated config: the schema's defaults with ``changes``."""
    return HiraganaAugment.of(validate_config({"hiragana": {"augment": changes}}))


def _prototypes(rng: np.random.Generator, n: int) -> np.ndarray:
    """One stroke pattern a class: a few random thick bars, so the classes differ in shape."""
    protos = np.zeros((n, 28, 28), np.float32)
    for k in range(n):
        for _ in range(3):
            if rng.random() < 0.5:
                r, c0 = rng.integers(5, 23), rng.integers(3, 12)
                protos[k, r : r + 2, c0 : c0 + rng.integers(8, 14)] = 1.0
            else:
                c, r0 = rng.integers(5, 23), rng.integers(3, 12)
                protos[k, r0 : r0 + rng.integers(8, 14), c : c + 2] = 1.0
    return protos


def _writer_samples(rng, protos, writer_shift):
    images, labels = [], []
    for k, proto in enumerate(protos):
        for _ in range(PER_WRITER):
            shift = writer_shift + rng.integers(-1, 2, size=2)
            img = np.roll(proto, tuple(shift), axis=(0, 1)) * rng.uniform(0.6, 1.0)
            img = np.clip(img + rng.normal(0, 0.15, img.shape), 0, 1)
            images.append(np.rint(img * 255).astype(np.uint8))
            labels.append(k)
    return images, labels


def make_etl_h5(path, seed=0, size=28, test_writers=TEST_WRITERS):
    """A tiny etl_28.h5; at ``size`` 56 the same records drawn at twice the pixels (as etl_bn_cnn.h5)."""
    rng = np.random.default_rng(seed)
    protos = _prototypes(rng, len(CLASSES))
    images, labels, writers, split = [], [], [], []
    for w in [*TRAIN_WRITERS, *TEST_WRITERS]:
        imgs, labs = _writer_samples(rng, protos, rng.integers(-2, 3, size=2))
        images += imgs
        labels += labs
        writers += [w] * len(imgs)
        split += [int(w in test_writers)] * len(imgs)
    scale = size // 28
    write_h5(
        path,
        {
            "images": np.stack(images).repeat(scale, axis=1).repeat(scale, axis=2),
            "labels": np.asarray(labels, np.int16),
            "writers": np.asarray(writers, np.int32),
            "classes": np.asarray(CLASSES),
            "split": np.asarray(split, np.uint8),
            "codes": np.zeros(len(labels), np.uint16),
        },
        stage="test",
    )
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("hiragana")
    etl = make_etl_h5(root / "etl_28.h5")
    model = root / "model.pt"
    summary = train_hiragana(etl, model, **TRAIN_ARGS)
    return etl, model, summary


def _evaluate(model, etl, out):
    paths = {
        "metrics_path": out / "metrics.json",
        "confusion_path": out / "confusion.png",
        "filters_path": out / "filters.png",
        "errors_path": out / "errors.png",
    }
    return evaluate_hiragana(model, etl, **paths, device="cpu"), paths


def test_checkpoint_loads_with_weights_only(trained):
    _, model, summary = trained
    ckpt = torch.load(model, weights_only=True)
    assert set(ckpt) >= {
        "cnn_state_dict", "baseline_state_dict", "arch", "classes", "size", "params", "history", "neta_version"
    }
    assert ckpt["classes"] == CLASSES and ckpt["size"] == 28
    assert ckpt["cnn_state_dict"]["fc1.weight"].shape == (1024, 3136)
    assert ckpt["cnn_state_dict"]["fc2.weight"].shape == (len(CLASSES), 1024)
    assert ckpt["params"]["lr_schedule"] == [[0, 1e-3], [40, 3e-4]]
    history = ckpt["history"]
    assert history["step"] == [10, 20, 30, 40, 50, 60]
    assert history["lr"] == [1e-3, 1e-3, 1e-3, 1e-3, 3e-4, 3e-4]  # step 40 (index 39) is the last at 1e-3
    assert history["keep_prob"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert len(history["loss"]) == 6 and history["loss"][-1] < history["loss"][0]
    assert summary["n_train"] == len(TRAIN_WRITERS) * len(CLASSES) * PER_WRITER
    assert summary["n_train_writers"] == len(TRAIN_WRITERS)
    assert model_classes(model) == CLASSES


def test_training_learns_well_above_chance_on_unseen_writers(trained, tmp_path):
    etl, model, _ = trained
    metrics, paths = _evaluate(model, etl, tmp_path)
    chance = 1 / len(CLASSES)
    assert metrics["cnn"]["accuracy"] > 0.8 > 4 * chance
    assert metrics["baseline"]["accuracy"] > 2 * chance
    assert metrics["n_test"] == len(TEST_WRITERS) * len(CLASSES) * PER_WRITER
    assert metrics["n_writers_test"] == len(TEST_WRITERS)
    assert metrics["writer_disjoint"] is True


def test_evaluate_writes_all_outputs_with_documented_keys(trained, tmp_path):
    etl, model, _ = trained
    metrics, paths = _evaluate(model, etl, tmp_path)
    for key in ("confusion_path", "filters_path", "errors_path"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads(paths["metrics_path"].read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(metrics))
    documented = {"cnn", "baseline", "per_class", "n_test", "n_writers_test", "n_classes", "writer_disjoint"}
    assert set(on_disk) >= documented
    assert set(on_disk["per_class"]) == set(CLASSES)
    for entry in on_disk["per_class"].values():
        assert entry["count"] == len(TEST_WRITERS) * PER_WRITER
        assert 0.0 <= entry["accuracy"] <= 1.0
    weighted = sum(e["accuracy"] * e["count"] for e in on_disk["per_class"].values()) / on_disk["n_test"]
    assert weighted == pytest.approx(on_disk["cnn"]["accuracy"], abs=1e-5)
    assert not list(tmp_path.glob(".*.part"))


def test_same_seed_same_weights_and_metrics(trained, tmp_path):
    etl, model, _ = trained
    again = tmp_path / "again.pt"
    train_hiragana(etl, again, **TRAIN_ARGS)
    first = torch.load(model, weights_only=True)
    second = torch.load(again, weights_only=True)
    for key, tensor in first["cnn_state_dict"].items():
        assert torch.equal(tensor, second["cnn_state_dict"][key]), key
    assert first["history"] == second["history"]
    m1, _ = _evaluate(model, etl, tmp_path / "a")
    m2, _ = _evaluate(again, etl, tmp_path / "b")
    strip = lambda m: {k: v for k, v in m.items() if k != "model"}  # noqa: E731
    assert strip(m1) == strip(m2)


def test_evaluate_arrays_maps_characters_and_rejects_unknown_ones(trained):
    etl, model, _ = trained
    from neta.h5io import read_h5

    data, _ = read_h5(etl)
    test = data["split"] == 1
    chars = np.asarray(CLASSES)[data["labels"][test]]
    by_char = evaluate_arrays(model, data["images"][test], chars, device="cpu")
    by_index = evaluate_arrays(model, data["images"][test], data["labels"][test], device="cpu")
    assert by_char["cnn"] == by_index["cnn"] and by_char["n_test"] == int(test.sum())
    chars = chars.copy()
    chars[3] = "ゑ"
    with pytest.raises(NetaError, match="ゑ"):
        evaluate_arrays(model, data["images"][test], chars, device="cpu")


def test_checkpoint_params_are_the_config_values_in_their_documented_layout(trained):
    _, model, _ = trained
    params = torch.load(model, weights_only=True)["params"]
    assert list(params) == [
        "steps", "batch_size", "lr_schedule", "keep_prob_schedule", "baseline_steps", "baseline_lr",
        "baseline_batch_size", "init_std", "bias_init", "precision", "augment", "seed", "device", "threads",
        "optimizer", "baseline_optimizer",
    ]
    train, baseline = SETTINGS["hiragana"]["train"], SETTINGS["hiragana"]["baseline"]
    assert params["keep_prob_schedule"] == train["keep_prob_schedule"]
    assert (params["steps"], params["batch_size"], params["init_std"], params["bias_init"]) == (60, 32, 0.1, 0.1)
    assert (params["baseline_steps"], params["baseline_lr"], params["baseline_batch_size"]) == (
        baseline["steps"], baseline["lr"], baseline["batch_size"])
    # plain JSON values in the schema's key order, the same dict as the section's record()
    assert params["augment"] == SETTINGS["hiragana"]["augment"] == TRAIN_ARGS["augment"].record()
    assert list(params["augment"]) == list(SCHEMA["augment"]["properties"])
    assert (params["seed"], params["device"], params["threads"]) == (7, "cpu", 1)
    assert params["precision"] == ("bf16" if native_bf16(torch.device("cpu")) else "fp32")  # auto, the default


def test_bad_inputs_fail_before_writing(tmp_path, trained):
    etl, _, _ = trained
    out = tmp_path / "model.pt"
    late_start = dataclasses.replace(TRAIN_ARGS["train"], lr_schedule=((5, 1e-3),))
    with pytest.raises(NetaError, match=r"hiragana\.train\.lr_schedule: the first pair must start at step 0"):
        train_hiragana(etl, out, **{**TRAIN_ARGS, "train": late_start})
    with pytest.raises(NetaError, match="no such HDF5 file"):
        train_hiragana(tmp_path / "missing.h5", out, **TRAIN_ARGS)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_sections_have_the_schema_keys_in_the_schema_order():
    for cls in (HiraganaTrain, HiraganaBaseline, HiraganaAugment, HiraganaBnCnn):
        part = cls.KEY.split(".")[-1]
        assert [f.name for f in dataclasses.fields(cls)] == list(SCHEMA[part]["properties"]), cls.KEY
    section = HiraganaTrain.of(SETTINGS)
    assert section.lr_schedule == ((0, 1e-3), (40, 3e-4))  # frozen: lists become tuples
    with pytest.raises(dataclasses.FrozenInstanceError):
        section.steps = 1


# What train_hiragana and the augmentation once checked by hand, the config schema checks, naming the key.
@pytest.mark.parametrize(
    ("section", "key", "bad", "fragment"),
    [
        ("train", "steps", 0, "less than the minimum of 1"),
        ("train", "batch_size", 0, "less than the minimum of 1"),
        ("train", "init_std", 0, "less than or equal to the minimum of 0"),
        ("train", "steps", True, "not of type 'integer'"),
        ("baseline", "steps", 0, "less than the minimum of 1"),
        ("baseline", "batch_size", 0, "less than the minimum of 1"),
        ("baseline", "lr", 0.0, "less than or equal to the minimum of 0"),
        ("baseline", "lr", -0.5, "less than or equal to the minimum of 0"),
        ("augment", "blur_p", 1.5, "greater than the maximum of 1"),
        ("augment", "probability", -0.1, "less than the minimum of 0"),
        ("augment", "ink_min", 0, "less than or equal to the minimum of 0"),
        ("augment", "ink_min", 1.2, "greater than the maximum of 1"),
        ("augment", "elastic_grid", 1, "less than the minimum of 2"),
        ("augment", "rotation_deg", -5, "less than the minimum of 0"),
        ("augment", "noise_std", -0.01, "less than the minimum of 0"),
    ],
)
def test_config_validation_rejects_bad_training_values_naming_the_key(section, key, bad, fragment):
    with pytest.raises(NetaError) as info:
        validate_config({"hiragana": {section: {key: bad}}})
    message = str(info.value)
    assert message.startswith(f"config key hiragana.{section}.{key}: ") and fragment in message


def test_config_validation_rejects_unknown_augmentation_keys():
    with pytest.raises(NetaError, match=r"config key hiragana\.augment: .*'zoom' was unexpected"):
        validate_config({"hiragana": {"augment": {"zoom": 1}}})
    with pytest.raises(NetaError, match=r"hiragana\.augment: expected the keys enabled, probability"):
        HiraganaAugment.from_values({k: v for k, v in AUGMENT.items() if k != "blur_p"}, HiraganaAugment.KEY)


def test_augmentation_is_seeded_bounded_and_can_be_switched_off():
    cfg = augment_of()
    x = torch.rand(40, 1, 28, 28)
    a = augment_batch(x, cfg, torch.Generator().manual_seed(3), pixel_scale=1.0)
    b = augment_batch(x, cfg, torch.Generator().manual_seed(3), pixel_scale=1.0)
    c = augment_batch(x, cfg, torch.Generator().manual_seed(4), pixel_scale=1.0)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, x) and torch.equal(x, x.clone())  # the input is left alone
    off = augment_of(enabled=False)
    assert augment_batch(x, off, torch.Generator().manual_seed(3), pixel_scale=1.0) is x
    never = augment_of(probability=0.0)
    assert torch.equal(augment_batch(x, never, torch.Generator().manual_seed(3), pixel_scale=1.0), x)


def test_augmentation_distorts_a_finer_image_of_the_same_character_alike():
    """hiragana.augment's elastic field and blur are pixels of a hiragana.size image: a model reading
    images twice as fine (hiragana.bn_cnn.size) gets them doubled, so its batches show the characters
    distorted as the tutorial CNN's do. Without the scaling its characters would bend half as far."""
    from torch.nn.functional import avg_pool2d

    cfg = augment_of(probability=1.0, elastic_p=1.0, elastic_px=2.0, elastic_grid=4, blur_p=1.0, blur_sigma=1.5,
                     morph_p=0.0, ink_p=0.0, noise_p=0.0)
    protos = torch.from_numpy(_prototypes(np.random.default_rng(1), 24))[:, None]
    fine = protos.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # the same characters at 56 pixels
    coarse_out = augment_batch(protos, cfg, torch.Generator().manual_seed(5), pixel_scale=1.0)
    scaled = avg_pool2d(augment_batch(fine, cfg, torch.Generator().manual_seed(5), pixel_scale=2.0), 2)
    unscaled = avg_pool2d(augment_batch(fine, cfg, torch.Generator().manual_seed(5), pixel_scale=1.0), 2)
    scaled_gap = (scaled - coarse_out).abs().mean()
    assert scaled_gap < 0.5 * (unscaled - coarse_out).abs().mean()
    assert scaled_gap < 0.25 * (protos - coarse_out).abs().mean()  # the distortion itself is larger by far


def test_dust_lands_in_the_frames_outer_band_where_a_crop_puts_it():
    """hiragana.augment.dust_p: one or two round dots in the band a crop leaves around the character
    (a scan's dust it took in), never in the middle; at 0, none."""
    still = dict(rotation_deg=0.0, shear=0.0, scale=0.0, aspect=0.0, translate=0.0, elastic_p=0.0, morph_p=0.0,
                 blur_p=0.0, ink_p=0.0, noise_p=0.0, probability=1.0)
    blank = torch.zeros(64, 1, 56, 56)
    dusty = augment_batch(blank, augment_of(dust_p=1.0, **still), torch.Generator().manual_seed(2), pixel_scale=2.0)
    assert (dusty.flatten(1).amax(1) >= 0.6).all()  # every image has its dot
    middle = dusty[..., 12:-12, 12:-12]  # deeper than 0.14 of the side and a dot's radius
    assert middle.max() == 0
    dots = (dusty > 0.3).flatten(1).sum(1)
    assert dots.max() <= 2 * 30  # dots, not strokes: two of radius at most 2.8 pixels
    clean = augment_batch(blank, augment_of(dust_p=0.0, **still), torch.Generator().manual_seed(2), pixel_scale=2.0)
    assert torch.equal(clean, blank)


def test_training_with_augmentation_is_deterministic_and_eval_sees_clean_images(trained, tmp_path):
    etl, _, _ = trained
    args = {**TRAIN_ARGS, "augment": augment_of(), "train": dataclasses.replace(TRAIN_ARGS["train"], steps=20),
            "baseline": dataclasses.replace(TRAIN_ARGS["baseline"], steps=20)}
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    s1 = train_hiragana(etl, first, **args)
    s2 = train_hiragana(etl, second, **args)
    c1, c2 = torch.load(first, weights_only=True), torch.load(second, weights_only=True)
    assert c1["params"]["augment"] == AUGMENT
    for key, tensor in c1["cnn_state_dict"].items():
        assert torch.equal(tensor, c2["cnn_state_dict"][key]), key
    assert s1["train_accuracy"] == s2["train_accuracy"]
    # scoring is deterministic: no random distortion reaches evaluation
    m1, _ = _evaluate(first, etl, tmp_path / "m1")
    m2, _ = _evaluate(first, etl, tmp_path / "m2")
    assert m1["cnn"] == m2["cnn"] and m1["baseline"] == m2["baseline"]


def test_report_scores_a_heldout_style_file(trained, tmp_path):
    etl, model, _ = trained
    metrics, paths = _evaluate(model, etl, tmp_path)
    with_heldout = evaluate_hiragana(model, etl, **paths, device="cpu", heldout_path=etl)
    heldout = with_heldout["heldout_style"]
    # every image of the held-out file is scored, whatever its split
    assert heldout["n_images"] == (len(TRAIN_WRITERS) + len(TEST_WRITERS)) * len(CLASSES) * PER_WRITER
    for name in ("cnn", "baseline"):
        assert with_heldout[name]["heldout_style_accuracy"] == heldout[name]["accuracy"]
        assert with_heldout[name]["accuracy"] == metrics[name]["accuracy"]
        assert all(p["true"] != p["pred"] for p in heldout[name]["most_confused"])
    on_disk = json.loads(paths["metrics_path"].read_text(encoding="utf-8"))
    assert on_disk["cnn"]["heldout_style_accuracy"] == heldout["cnn"]["accuracy"]


def test_the_training_command_logs_whole_lines_to_a_file(trained, tmp_path):
    """A workflow job's stderr is a log file: progress comes as a few plain lines, never a tqdm bar
    redrawn with carriage returns (72 KB of them for the default run's train_hiragana)."""
    from neta.hiragana.train import LOG_EVERY

    etl, _, _ = trained
    steps = 100
    log = tmp_path / "train_hiragana.log"
    with log.open("w", encoding="utf-8") as stderr:
        proc = subprocess.run(
            [sys.executable, "-m", "neta", "hiragana", "train", "--etl", str(etl), "--out", str(tmp_path / "model.pt"),
             "--threads", "1", "--device", "cpu", "--train-steps", str(steps), "--baseline-steps", str(steps)],
            stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=300)
    assert proc.returncode == 0
    text = log.read_text(encoding="utf-8")
    assert "\r" not in text
    lines = text.splitlines()
    # a logged window every LOG_EVERY steps of each model, a closing progress line each, a few more
    assert len(lines) <= 2 * (steps // LOG_EVERY + 1) + 10, text
    assert any(line.startswith(f"train cnn: {steps}/{steps} step (100%)") for line in lines), text


BN_CNN = HiraganaBnCnn.of(validate_config({"hiragana": {"bn_cnn": {"widths": [8, 8, 16], "steps": 60,
                                                                   "batch_size": 32, "lr": 0.01}}}))


BN_ARGS = dict(bn_cnn=BN_CNN, augment=TRAIN_ARGS["augment"], augment_size=28, seed=7, device="cpu", threads=1,
               log_every=10)


@pytest.fixture(scope="module")
def bn_trained(trained):
    """The BN-CNN trained on the same records at its own size, 56 (the schema's default)."""
    etl, _, _ = trained
    etl_bn = make_etl_h5(etl.parent / "etl_bn_cnn.h5", size=56)
    out = etl.parent / "bn_cnn.pt"
    summary = train_bn_cnn(etl_bn, out, **BN_ARGS)
    return out, summary, etl_bn


def test_bn_cnn_learns_the_unseen_writers_and_records_its_training(bn_trained):
    out, summary, etl = bn_trained
    loaded = load_models(out)
    assert loaded.network == "bn_cnn" and loaded.baseline is None and loaded.classes == CLASSES
    assert loaded.size == 56 and loaded.cnn.arch["stride"] == 2
    assert loaded.checkpoint["params"]["widths"] == [8, 8, 16] and loaded.checkpoint["params"]["steps"] == 60
    assert loaded.checkpoint["params"]["augment_size"] == 28
    history = loaded.checkpoint["history"]
    assert history["step"] == [10, 20, 30, 40, 50, 60] and history["loss"][-1] < history["loss"][0]
    assert max(history["lr"]) <= 0.01 and history["lr"][-1] < 0.001  # one cycle: up to the peak, then down
    metrics = evaluate_arrays(out, *_test_split(etl), device="cpu")
    assert metrics["cnn"]["accuracy"] > 0.8 > 4 / len(CLASSES)
    assert "baseline" not in metrics and summary["network"] == "bn_cnn"


def _test_split(etl):
    from neta.hiragana.dataset import load_etl_split

    test = load_etl_split(etl, "test")
    return test.images, test.labels


def test_bn_cnn_training_is_deterministic(bn_trained, tmp_path):
    out, _, etl_bn = bn_trained
    again = tmp_path / "again.pt"
    train_bn_cnn(etl_bn, again, **BN_ARGS)
    first, second = (torch.load(p, weights_only=True)["cnn_state_dict"] for p in (out, again))
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_bn_cnn_refuses_records_of_another_size_before_writing(trained, tmp_path):
    etl, _, _ = trained  # 28-pixel records, where hiragana.bn_cnn.size is 56
    out = tmp_path / "bn_cnn.pt"
    with pytest.raises(NetaError, match=r"etl_28.h5: holds 28-pixel images, but hiragana.bn_cnn.size is 56; "
                                        r"convert the ETL files with `neta etl convert-bn-cnn`, which writes"):
        train_bn_cnn(etl, out, **BN_ARGS)
    assert not out.exists()


def test_report_scores_the_bn_cnn_beside_the_tutorial_cnn(trained, bn_trained, tmp_path):
    etl, model, _ = trained
    out, _, etl_bn = bn_trained
    alone, paths = _evaluate(model, etl, tmp_path)
    assert alone["recognizer"] == "cnn" and "bn_cnn" not in alone
    both = evaluate_hiragana(model, etl, **paths, device="cpu", bn_cnn_path=out, bn_cnn_etl_path=etl_bn,
                             heldout_path=etl, bn_cnn_heldout_path=etl_bn)
    assert both["recognizer"] == "bn_cnn"
    assert both["cnn"]["accuracy"] == alone["cnn"]["accuracy"]  # the tutorial CNN's figures are unchanged
    on_its_own = evaluate_arrays(out, *_test_split(etl_bn), device="cpu")
    assert both["bn_cnn"]["accuracy"] == on_its_own["cnn"]["accuracy"]
    assert both["bn_cnn"]["heldout_style_accuracy"] == both["heldout_style"]["bn_cnn"]["accuracy"]
    assert {"phantom_dakuten_rate", "mark_swap_rate", "most_confused"} <= set(both["bn_cnn"])
    on_disk = json.loads(paths["metrics_path"].read_text(encoding="utf-8"))
    assert on_disk["bn_cnn"]["accuracy"] == both["bn_cnn"]["accuracy"]
    # the 28-pixel file is not the BN-CNN's: refused naming it, not scored at the wrong size
    with pytest.raises(NetaError, match=r"etl_28.h5: expected images of shape \(N, 56, 56\)"):
        evaluate_hiragana(model, etl, **paths, device="cpu", bn_cnn_path=out)


def test_report_refuses_bn_cnn_records_of_other_test_writers(trained, bn_trained, tmp_path):
    etl, model, _ = trained
    out, _, _ = bn_trained
    # the same records, other writers held out
    other = make_etl_h5(tmp_path / "etl_bn_cnn.h5", size=56, test_writers=TRAIN_WRITERS[: len(TEST_WRITERS)])
    _, paths = _evaluate(model, etl, tmp_path)
    with pytest.raises(NetaError, match=r"etl_bn_cnn.h5: its classes or test writers differ from .*etl_28.h5's"):
        evaluate_hiragana(model, etl, **paths, device="cpu", bn_cnn_path=out, bn_cnn_etl_path=other)


def test_both_trainings_refuse_a_log_window_below_one_step_before_writing(trained, tmp_path):
    etl, _, _ = trained
    out = tmp_path / "never.pt"
    with pytest.raises(ValueError, match="log_every: expected an integer >= 1, got 0"):
        train_hiragana(etl, out, **{**TRAIN_ARGS, "log_every": 0})
    with pytest.raises(ValueError, match="log_every: expected an integer >= 1, got 0"):
        train_bn_cnn(etl, out, **{**BN_ARGS, "log_every": 0})
    assert not list(tmp_path.iterdir())


def test_the_cnn_steps_in_bfloat16_and_fp32_keeps_the_seed_arithmetic(trained, tmp_path, monkeypatch):
    etl, _, _ = trained
    casts = []
    real_autocast = torch.autocast

    def spy(device_type, *args, **kwargs):
        casts.append(kwargs.get("dtype"))
        return real_autocast(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", spy)
    short = {"train": dataclasses.replace(TRAIN_ARGS["train"], steps=20),
             "baseline": dataclasses.replace(TRAIN_ARGS["baseline"], steps=20)}
    runs = {}
    for precision in ("bf16", "fp32"):
        casts.clear()
        out = tmp_path / f"{precision}.pt"
        train_hiragana(etl, out, **{**TRAIN_ARGS, **short,
                                    "train": dataclasses.replace(short["train"], precision=precision)})
        runs[precision] = torch.load(out, weights_only=True)
        # the CNN's 20 steps only: the baseline and the train accuracies are float32
        assert casts == ([torch.bfloat16] * 20 if precision == "bf16" else [])
        assert runs[precision]["params"]["precision"] == precision
        assert all(t.dtype == torch.float32 for t in runs[precision]["cnn_state_dict"].values())
    assert not torch.equal(runs["bf16"]["cnn_state_dict"]["fc1.weight"], runs["fp32"]["cnn_state_dict"]["fc1.weight"])
    for key, tensor in runs["bf16"]["baseline_state_dict"].items():
        assert torch.equal(tensor, runs["fp32"]["baseline_state_dict"][key]), key
