"""The pizza path through real snakemake runs: snapshot → crawl → recipes, photos → augmented HDF5."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neta.settings import validate_config

pytestmark = pytest.mark.integration

ORIGINAL_PATH = Path(__file__).resolve().parents[1] / "data" / "dodopizza" / "pizzas_kaliningrad_2017.csv"


def test_the_default_pizza_path_on_the_offline_snapshot(finished_workflow):
    flow = finished_workflow
    pizza = flow.root / "results" / "pizza"
    original = pd.read_csv(ORIGINAL_PATH)
    menu = pd.read_csv(pizza / "menu.csv", dtype=str, keep_default_na=False)
    assert sorted(menu["pizza_id"]) == sorted(original["pizza_eng_name"])
    by_id = menu.set_index("pizza_id")
    for row in original.itertuples():
        assert by_id.loc[row.pizza_eng_name, "ingredients"] == " ".join(row.pizza_contain.split())
        assert by_id.loc[row.pizza_eng_name, "image_url"].startswith("http://snapshot.dodo.test/")

    recipes = json.loads((pizza / "recipes.json").read_text(encoding="utf-8"))
    assert len(recipes["pizzas"]) == 20 and recipes["slots"] == 9
    assert 27 <= len(recipes["vocabulary"]) - 1 <= 29  # the original had 28 ingredients

    manifest = pd.read_csv(pizza / "images" / "manifest.csv")
    assert (manifest["status"] == "ok").all() and len(manifest) == 20

    with h5py.File(pizza / "augmented.h5", "r") as handle:
        size = flow.config()["pizza"]["augment"]["size"]
        assert handle["images"].shape == (20 * 720, 3, size, size) and handle["images"].dtype == np.uint8
        assert handle["images"].chunks[0] == 720
        assert handle["recipes"].shape == (20 * 720, 9, len(recipes["vocabulary"]))
        assert (handle["recipes"][:720].sum(axis=2) == 1).all()
        angles, flipped = handle["angles"][()], handle["flipped"][()]
        assert sorted(set(angles.tolist())) == list(range(360)) and flipped.sum() == 20 * 360
        assert len(set(handle["pizza_ids"].asstr()[()])) == 20


def test_the_generators_are_trained_judged_and_drawn_as_the_readme_says(finished_workflow, tmp_path):
    flow = finished_workflow
    pizza = flow.root / "results" / "pizza"
    metrics = json.loads((pizza / "metrics.json").read_text(encoding="utf-8"))
    kinds = {"cvae_a", "cvae_b", "cvae_original", "gan", "cvae_gan"}
    assert set(metrics["models"]) == kinds
    for name, model in metrics["models"].items():
        assert 0 <= model["shuffled_f1"] <= 1 and 0 <= model["fidelity_f1"] <= 1 and model["parameters"] > 0, name
        assert 0 <= model["unseen_fidelity_f1"] <= 1 and model["kid_std"] >= 0, name
        assert (model["val_reconstruction"] is None) == (name == "gan") == (model["pose_r2"] is None), name
    assert metrics["classifier"]["val_f1"] > metrics["classifier"]["val_shuffled_f1"]
    # pizza.models.holdout_pizzas of the test config's 20, never shown to a generator
    assert len(metrics["unseen_pizzas"]) == validate_config(flow.config())["pizza"]["models"]["holdout_pizzas"]
    assert set(metrics["baselines"]) == {"per_recipe_mean"}
    for name in sorted(kinds):
        log = pd.read_csv(pizza / f"{name}_log.csv")
        assert len(log) == 1 and {"epoch", "seconds"} <= set(log.columns), name
        with Image.open(pizza / f"{name}_progress.gif") as gif:
            assert gif.format == "GIF"
    out = tmp_path / "pizza.png"
    proc = subprocess.run([sys.executable, "-m", "neta", "pizza", "generate", "--model", "results/pizza/cvae_a.pt",
                           "--ingredients", "пепперони,моцареллы", "--out", str(out)], cwd=flow.root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(flow.root / "src")}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ingredients"] == ["пепперони", "моцарелла"]
    with Image.open(out) as image:
        assert image.width > 32 and image.height >= 32
    proc = subprocess.run([sys.executable, "-m", "neta", "pizza", "generate", "--model", "results/pizza/cvae_a.pt",
                           "--ingredients", "пепперони,шоколад", "--out", str(tmp_path / "no.png")], cwd=flow.root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(flow.root / "src")}, timeout=300)
    assert proc.returncode != 0 and "шоколад" in proc.stderr and "моцарелла" in proc.stderr
    assert not (tmp_path / "no.png").exists()
