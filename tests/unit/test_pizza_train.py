"""Training the pizza generators on a small real-layout augmented.h5: outputs, determinism, the held-out split."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from pizza_fixtures import write_pizza_data

import neta.pizza.train as pizza_train
from neta.errors import NetaError
from neta.pizza.checkpoint import load_pizza_model
from neta.pizza.config import TrainingSettings
from neta.pizza.dataset import load_pizza_data
from neta.pizza.kinds import KINDS
from neta.pizza.train import LOG_COLUMNS, train_pizza_model
from neta.settings import validate_config

ARCHITECTURE = {"latent": 8, "dense": 32, "z_dim": 8, "conditioned": True, "adversarial_weight": 0.1, "width": 2,
                "embedding": 4, "pixel_sigma": 0.1, "discriminator_width": 2}
SETTINGS = {"holdout_every": 4, "holdout_pizzas": 1, "kl_warmup_epochs": 1, "progress_every": 1, "seed": 3,
            "device": "cpu", "precision": "fp32", "threads": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_pizza_data(tmp_path_factory.mktemp("pizza"))


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def train(kind, data, folder, *, epochs=2, **changes):
    outputs = {"model_out": folder / f"{kind}.pt", "log_csv": folder / f"{kind}.csv",
               "loss_png": folder / f"{kind}_loss.png", "progress_gif": folder / f"{kind}_progress.gif"}
    training = TrainingSettings(epochs=epochs, batch_size=16, lr=1e-3)
    summary = train_pizza_model(kind, data["augmented_h5"], data["recipes_json"], **outputs, training=training,
                                architecture=ARCHITECTURE, **{**SETTINGS, **changes})
    return summary, outputs


def test_held_out_angles_are_every_nth_angle_of_every_pizza_both_mirrors(data, tmp_path):
    split = load_pizza_data(data["augmented_h5"], holdout_every=4)
    step = data["angle_step"]
    assert split.size == 32 and split.slots == 9 and split.classes == len(data["recipes"]["vocabulary"])
    assert np.array_equal(split.val, (split.angles // step) % 4 == 0)
    for pizza in np.unique(split.pizza_ids):
        mine = split.pizza_ids == pizza
        held = split.val & mine
        assert held.any() and (~split.val & mine).any()
        # a held-out rotation's mirror is held out too
        assert set(split.angles[held & split.flipped]) == set(split.angles[held & ~split.flipped])
    with pytest.raises(NetaError, match="pizza.models.holdout_every"):
        validate_config({"pizza": {"models": {"holdout_every": 1}}})
    one_angle = write_pizza_data(tmp_path, angles=1, pizzas=2)
    with pytest.raises(NetaError, match="leaves no training images"):
        load_pizza_data(one_angle["augmented_h5"], holdout_every=2)


@pytest.mark.parametrize("kind", KINDS)
def test_training_writes_every_output(kind, data, tmp_path):
    summary, out = train(kind, data, tmp_path, epochs=2)
    log = pd.read_csv(out["log_csv"])
    assert list(log.columns) == ["epoch", "seconds", *LOG_COLUMNS[kind]]
    assert log["epoch"].tolist() == [1, 2] and np.isfinite(log.drop(columns="epoch").to_numpy()).all()
    assert Image.open(out["loss_png"]).format == "PNG"
    gif = Image.open(out["progress_gif"])
    assert gif.format == "GIF" and gif.n_frames == 2
    rows = len(data["recipes"]["pizzas"]) - SETTINGS["holdout_pizzas"]
    assert gif.size[1] == 16 + 32 * rows  # caption strip + a row a pizza the model sees
    model, info = load_pizza_model(out["model_out"], device="cpu")
    assert info["kind"] == kind and info["vocabulary"] == data["recipes"]["vocabulary"]
    assert [row["epoch"] for row in info["history"]] == [1, 2]
    kept = summary["kept_epoch"]
    if kind in ("cvae_a", "cvae_b", "cvae_original"):
        assert log["val_loss"][kept - 1] == log["val_loss"].min()
    else:
        assert kept == 2
    assert summary["parameters"] == sum(p.numel() for p in model.parameters()) == info["settings"]["parameters"]
    assert summary["seconds_per_epoch"] > 0 and set(summary["final"]) == set(LOG_COLUMNS[kind])
    assert summary["n_train"] + summary["n_val"] == (6 - SETTINGS["holdout_pizzas"]) * 24
    assert len(info["settings"]["unseen_pizzas"]) == SETTINGS["holdout_pizzas"]
    json.dumps(summary)  # the rule writes it as JSON


@pytest.mark.parametrize("kind", ["cvae_b", "gan"])
def test_seeded_runs_are_identical(kind, data, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, first = train(kind, data, tmp_path / "a")
    _, second = train(kind, data, tmp_path / "b")
    losses = [pd.read_csv(out["log_csv"]).drop(columns="seconds") for out in (first, second)]
    pd.testing.assert_frame_equal(*losses)
    states = [torch.load(out["model_out"], weights_only=True)["state_dict"] for out in (first, second)]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    frames = [Image.open(out["progress_gif"]).convert("RGB") for out in (first, second)]
    assert frames[0].tobytes() == frames[1].tobytes()
    _, third = train(kind, data, tmp_path, seed=4)
    assert not pd.read_csv(third["log_csv"]).drop(columns="seconds").equals(losses[0])


@pytest.mark.parametrize("kind", ["cvae_a", "gan", "cvae_gan"])
def test_held_out_pizzas_and_angles_never_reach_a_training_batch(kind, data, tmp_path, monkeypatch):
    seen = []

    def spy(order, batch_size):
        batches = real_batches(order, batch_size)
        seen.append(np.concatenate(batches))
        return batches

    real_batches = pizza_train._batches
    monkeypatch.setattr(pizza_train, "_batches", spy)
    summary, _ = train(kind, data, tmp_path, epochs=2)
    split = load_pizza_data(data["augmented_h5"], holdout_every=SETTINGS["holdout_every"],
                            holdout_pizzas=SETTINGS["holdout_pizzas"], seed=SETTINGS["seed"])
    unseen = split.unseen_ids
    assert len(unseen) == 1 and split.unseen.sum() == 24
    assert len(seen) == 2
    for epoch_rows in seen:
        # every training row once an epoch; no held-out angle and no image of the unseen pizza, ever
        assert sorted(epoch_rows.tolist()) == np.flatnonzero(~split.val & ~split.unseen).tolist()
        assert not np.isin(split.pizza_ids[epoch_rows], unseen).any()


def test_unseen_pizzas_are_seeded_and_their_ingredients_are_all_trained_on(data):
    from neta.pizza.dataset import choose_unseen_pizzas

    ids = [f"p{i}" for i in range(6)]
    sets = np.eye(6, 4, dtype=bool) | np.eye(6, 4, k=-2, dtype=bool)  # p4 and p5 repeat the ingredients of p0-p1
    sets[5] |= sets[2]
    for seed in range(20):
        chosen = choose_unseen_pizzas(ids, sets, count=2, seed=seed)
        assert chosen == choose_unseen_pizzas(ids, sets, count=2, seed=seed)
        rest = sets[[i for i, pizza in enumerate(ids) if pizza not in chosen]].any(axis=0)
        assert all((sets[ids.index(pizza)] <= rest).all() for pizza in chosen)
    assert len({tuple(choose_unseen_pizzas(ids, sets, count=2, seed=seed)) for seed in range(20)}) > 1
    lonely = np.eye(3, dtype=bool)  # every pizza has an ingredient of its own: none can be held out
    with pytest.raises(NetaError, match="holdout_pizzas = 1"):
        choose_unseen_pizzas(["a", "b", "c"], lonely, count=1, seed=0)
    with pytest.raises(NetaError, match="fewer than two"):
        choose_unseen_pizzas(ids, sets, count=5, seed=0)
    assert choose_unseen_pizzas(ids, sets, count=0, seed=0) == []


def test_mismatched_recipes_and_bad_settings_are_clear_errors(data, tmp_path):
    recipes = dict(data["recipes"], vocabulary=[*data["recipes"]["vocabulary"], "укроп"])
    other = tmp_path / "recipes.json"
    other.write_text(json.dumps(recipes, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(NetaError, match="rerun the augment_pizza stage"):
        train_pizza_model("cvae_a", data["augmented_h5"], other, model_out=tmp_path / "m.pt",
                          log_csv=tmp_path / "m.csv", loss_png=tmp_path / "m.png", progress_gif=tmp_path / "m.gif",
                          training=TrainingSettings(epochs=1, batch_size=16, lr=1e-3), architecture=ARCHITECTURE,
                          **SETTINGS)
    with pytest.raises(NetaError, match="pizza.models.gan.lr"):
        validate_config({"pizza": {"models": {"gan": {"lr": 0}}}})
    with pytest.raises(NetaError, match="unknown pizza model kind"):
        train("vae", data, tmp_path)
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_forward_passes_train_every_kind_with_float32_weights_and_losses(kind, data, tmp_path, monkeypatch):
    casts = []
    real_autocast = torch.autocast

    def spy(device_type, *args, **kwargs):
        casts.append((device_type, kwargs.get("dtype")))
        return real_autocast(device_type, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", spy)
    (tmp_path / "a").mkdir()
    summary, out = train(kind, data, tmp_path / "a", precision="bf16")
    assert casts and set(casts) == {("cpu", torch.bfloat16)}
    log = pd.read_csv(out["log_csv"])
    assert np.isfinite(log.drop(columns="epoch").to_numpy()).all()
    model, info = load_pizza_model(out["model_out"], device="cpu")
    assert info["settings"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # as repeatable as float32 steps
    (tmp_path / "b").mkdir()
    _, again = train(kind, data, tmp_path / "b", precision="bf16")
    pd.testing.assert_frame_equal(log.drop(columns="seconds"), pd.read_csv(again["log_csv"]).drop(columns="seconds"))
    casts.clear()
    _, fp32 = train(kind, data, tmp_path, precision="fp32")
    assert casts == []
    assert load_pizza_model(fp32["model_out"], device="cpu")[1]["settings"]["precision"] == "fp32"
    assert not pd.read_csv(fp32["log_csv"]).drop(columns="seconds").equals(log.drop(columns="seconds"))


def test_precision_auto_takes_bf16_only_where_the_hardware_computes_it(monkeypatch):
    import neta.device as device

    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "native_bf16", lambda dev: False)
    assert device.resolve_precision("auto", cpu) is None
    assert device.resolve_precision("fp32", cpu) is None
    assert device.resolve_precision("bf16", cpu) is torch.bfloat16
    monkeypatch.setattr(device, "native_bf16", lambda dev: True)
    assert device.resolve_precision("auto", cpu) is torch.bfloat16
    assert device.resolve_precision("fp32", cpu) is None
    with pytest.raises(NetaError, match="precision: unknown precision 'fp16'"):
        device.resolve_precision("fp16", cpu)
    with pytest.raises(NetaError, match="pizza.models.precision"):
        validate_config({"pizza": {"models": {"precision": "fp16"}}})
    assert validate_config({})["pizza"]["models"]["precision"] == "auto"


def test_native_bf16_asks_for_the_hardware_not_its_emulation(monkeypatch):
    import neta.device as device

    asked = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda **kwargs: asked.append(kwargs) or False)
    assert device.native_bf16(torch.device("cuda")) is False
    assert asked == [{"including_emulation": False}]
    for (avx512_bf16, amx), expected in (((False, False), False), ((True, False), True), ((False, True), True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert device.native_bf16(torch.device("cpu")) is expected


def test_bf16_forward_passes_round_in_bfloat16_and_hand_back_float32():
    from neta.device import ForwardPrecision

    torch.manual_seed(0)
    layer, x = torch.nn.Linear(64, 8), torch.randn(16, 64)
    exact = ForwardPrecision(None, torch.device("cpu"))(layer, x)
    rounded = ForwardPrecision(torch.bfloat16, torch.device("cpu"))(layer, x)
    pair = ForwardPrecision(torch.bfloat16, torch.device("cpu"))(lambda a: (layer(a), layer(a) * 2), x)
    assert exact.dtype == rounded.dtype == torch.float32 and all(t.dtype == torch.float32 for t in pair)
    names = [ForwardPrecision(dtype, torch.device("cpu")).name for dtype in (None, torch.bfloat16)]
    assert names == ["fp32", "bf16"]
    assert torch.equal(exact, layer(x))
    assert not torch.equal(rounded, exact) and torch.allclose(rounded, exact, atol=0.05)
