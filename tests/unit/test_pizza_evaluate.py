"""Pizza evaluation: the ingredient judge, recipe fidelity against the shuffled-recipe control, the grids,
metrics.json, and ``neta pizza generate``'s ingredient parsing and PNG.

The data are drawn here: six pizzas whose recipes come from real menu texts through the project's own
recipe encoding (lemmas, aliases), each ingredient a colour on a disc (the sauce is the disc's colour,
toppings are blobs at fixed places), turned in 10-degree steps and mirrored like augment_pizza's rows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from neta.errors import NetaError
from neta.h5io import write_h5
from neta.pizza import generate
from neta.pizza.checkpoint import save_pizza_model
from neta.pizza.config import TrainingSettings
from neta.pizza.evaluate import GRIDS, STYLE_SOURCES, evaluate_pizza, generate_for_recipes, recipe_fidelity
from neta.pizza.figures import base_ingredients, grid_size
from neta.pizza.generate import generate_pizza, parse_ingredients
from neta.pizza.judge import (
    IngredientClassifier,
    detect_ingredients,
    ingredient_sets,
    load_ingredient_classifier,
    set_f1,
    train_ingredient_classifier,
)
from neta.pizza.models import build_pizza_model
from neta.pizza.recipes import build_recipes, recipe_matrices, write_recipes
from neta.pizza.train import train_pizza_model

SIZE, ANGLE_STEP, HOLDOUT, UNSEEN = 32, 20, 3, 1
MENU = [
    ("pepperoni", "Пепперони", "Томатный соус, пепперони, моцарелла"),
    ("ham", "Ветчина и сыр", "Сливочный соус, ветчина, моцарелла"),
    ("hawaii", "Гавайская", "Томатный соус, ветчина, ананасы, моцарелла"),
    ("mushrooms", "Грибная", "Томатный соус, шампиньоны, увеличенная порция сыра моцарелла"),
    ("veggie", "Овощная", "Сливочный соус, шампиньоны, красный лук, ананасы"),
    ("onion", "Луковая", "Томатный соус, красный лук, пепперони"),
]
SAUCES = {"томатный соус": (200, 60, 40), "сливочный соус": (235, 225, 200)}
TOPPINGS = {"моцарелла": (250, 235, 120), "пепперони": (110, 10, 20), "ветчина": (240, 140, 170),
            "ананас": (200, 240, 0), "шампиньон": (120, 100, 80), "красный лук": (120, 30, 160)}


def draw_pizza(names: list[str], angle: float, flipped: bool, rng: np.random.Generator) -> np.ndarray:
    """(3, SIZE, SIZE) uint8: a disc in the sauce's colour, three blobs a topping, turned by ``angle``."""
    yy, xx = (np.mgrid[0:SIZE, 0:SIZE] - (SIZE - 1) / 2).astype(np.float64)
    if flipped:
        xx = -xx
    image = np.zeros((SIZE, SIZE, 3)) + (40, 40, 50)
    disc = xx**2 + yy**2 <= 14.5**2
    sauce = next((SAUCES[n] for n in names if n in SAUCES), (180, 140, 90))
    image[disc] = sauce
    toppings = [n for n in names if n in TOPPINGS]
    for k, name in enumerate(toppings):
        for j in range(3):
            theta = np.deg2rad(angle) + 2 * np.pi * (j / 3 + k / (3 * max(1, len(toppings))))
            radius = 9.0 if j % 2 else 5.0
            cx, cy = radius * np.cos(theta), radius * np.sin(theta)
            image[(xx - cx) ** 2 + (yy - cy) ** 2 <= 2.6**2] = TOPPINGS[name]
    image += rng.normal(0, 6, image.shape)
    return image.clip(0, 255).astype(np.uint8).transpose(2, 0, 1)


def names_of(recipe: np.ndarray, vocabulary: list[str]) -> list[str]:
    return [vocabulary[i] for i in np.flatnonzero(recipe[:, 1:].any(axis=0)) + 1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """augmented.h5 + recipes.json in the layouts of augment_pizza and encode_recipes."""
    root = tmp_path_factory.mktemp("pizza")
    recipes = build_recipes([(pid, name, text, False) for pid, name, text in MENU], slots=9,
                            aliases={"сыр моцарелла": "моцарелла"}, truncate=False)
    write_recipes(root / "recipes.json", recipes)
    ids = [pizza["pizza_id"] for pizza in recipes["pizzas"]]
    matrices = recipe_matrices(recipes, ids)
    rng = np.random.default_rng(0)
    angles = np.arange(0, 360, ANGLE_STEP)
    images, rows = [], {"recipes": [], "pizza_ids": [], "angles": [], "flipped": []}
    for pizza, matrix in zip(recipes["pizzas"], matrices, strict=True):
        for angle in angles:
            for flipped in (False, True):
                images.append(draw_pizza(pizza["ingredients"], angle, flipped, rng))
                rows["recipes"].append(matrix)
                rows["pizza_ids"].append(pizza["pizza_id"])
                rows["angles"].append(angle)
                rows["flipped"].append(flipped)
    write_h5(root / "augmented.h5",
             {"images": np.stack(images), "recipes": np.stack(rows["recipes"]),
              "pizza_ids": np.array(rows["pizza_ids"], dtype=str), "angles": np.array(rows["angles"], dtype=np.int16),
              "flipped": np.array(rows["flipped"], dtype=bool)},
             stage="test", attrs={"size": SIZE, "angle_step": ANGLE_STEP, "flip": True,
                                  "images_per_pizza": 2 * len(angles)})
    return {"root": root, "h5": root / "augmented.h5", "json": root / "recipes.json", "recipes": recipes,
            "matrices": matrices}


@pytest.fixture(scope="module")
def judge(data):
    path = data["root"] / "classifier.pt"
    summary = train_ingredient_classifier(data["h5"], model_out=path, holdout_every=HOLDOUT,
                                          training=TrainingSettings(epochs=10, batch_size=16, lr=3e-3), seed=0,
                                          device="cpu", threads=2)
    return path, summary


class DrawsRecipe:
    """A stand-in generator that draws exactly what its recipe asks for, at a random angle."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = vocabulary

    def sample(self, recipes: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        images = [draw_pizza(self.names(recipe), rng.uniform(0, 360), bool(rng.integers(2)), rng)
                  for recipe in recipes.cpu().numpy()]
        return torch.from_numpy(np.stack(images)).float() / 255

    def names(self, recipe: np.ndarray) -> list[str]:
        return names_of(recipe, self.vocabulary)


class IgnoresRecipe(DrawsRecipe):
    """Draws one of the menu's pizzas at random, whatever the recipe says."""

    def __init__(self, vocabulary: list[str], menu: list[list[str]]) -> None:
        super().__init__(vocabulary)
        self.menu, self.pick = menu, np.random.default_rng(1)

    def names(self, recipe: np.ndarray) -> list[str]:
        return self.menu[self.pick.integers(len(self.menu))]


# --- the judge ---------------------------------------------------------------------------------------------


def test_set_f1_counts_shared_ingredients():
    asked = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    detected = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    assert set_f1(asked, detected).tolist() == [0.5, 1.0, 1.0]


def test_the_judge_learns_the_ingredients_of_held_out_angles(data, judge):
    path, summary = judge
    assert summary["n_val"] == 6 * 2 * 6 and summary["n_train"] == 6 * 2 * 12  # every 3rd of 18 angles held out
    assert summary["ingredients"] == len(data["recipes"]["vocabulary"]) - 1
    # chance: the same detections scored against the other pizzas' ingredients
    assert summary["val_shuffled_f1"] < 0.6
    assert summary["val_f1"] > 0.9 and summary["val_f1"] - summary["val_shuffled_f1"] > 0.35
    model, info = load_ingredient_classifier(path, device="cpu")
    assert isinstance(model, IngredientClassifier) and not model.training
    assert info["holdout_every"] == HOLDOUT and info["metrics"]["val_f1"] == summary["val_f1"]
    # one image a pizza, drawn fresh: the detected set is the recipe's
    rng = np.random.default_rng(7)
    vocabulary = data["recipes"]["vocabulary"]
    images = np.stack([draw_pizza(names_of(m, vocabulary), 33.0, False, rng) for m in data["matrices"]])
    detected = detect_ingredients(model, torch.from_numpy(images).float() / 255)
    assert detected.dtype == bool and detected.shape == (6, len(vocabulary) - 1)
    assert set_f1(ingredient_sets(data["matrices"]), detected).mean() > 0.9


def test_a_foreign_file_is_not_a_judge(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"state_dict": {}}, bad)
    with pytest.raises(NetaError, match="not a neta ingredient classifier"):
        load_ingredient_classifier(bad, device="cpu")
    with pytest.raises(NetaError, match="train_ingredient_classifier"):
        load_ingredient_classifier(tmp_path / "missing.pt", device="cpu")


# --- recipe fidelity -----------------------------------------------------------------------------------------


def test_a_generator_that_uses_the_recipe_beats_the_shuffled_control(data, judge):
    model, _ = load_ingredient_classifier(judge[0], device="cpu")
    vocabulary = data["recipes"]["vocabulary"]
    asked = ingredient_sets(data["matrices"])
    menu = [pizza["ingredients"] for pizza in data["recipes"]["pizzas"]]
    scores = {}
    for name, stand_in in (("uses", DrawsRecipe(vocabulary)), ("ignores", IgnoresRecipe(vocabulary, menu))):
        images = generate_for_recipes(stand_in, data["matrices"], samples_per_recipe=6, seed=3,
                                      device=torch.device("cpu"))
        assert images.shape == (6, 6, 3, SIZE, SIZE) and images.dtype == np.uint8
        scores[name] = recipe_fidelity(model, images, asked, np.ones(6, dtype=bool))
    uses, ignores = scores["uses"], scores["ignores"]
    assert uses["unseen_fidelity_f1"] is None and uses["unseen_shuffled_f1"] is None
    assert uses["fidelity_f1"] > 0.9 and uses["fidelity_margin"] > 0.35
    assert uses["fidelity_f1"] - ignores["fidelity_f1"] > 0.3
    # ignoring the recipe, a generator scores its own recipes no better than any other's
    assert abs(ignores["fidelity_margin"]) < 0.15
    assert abs(uses["shuffled_f1"] - ignores["shuffled_f1"]) < 0.15
    assert uses["per_pizza_f1"].shape == (6,)
    # the same images split into seen and unseen pizzas: each part is scored on its own pizzas
    seen = np.array([True, True, True, True, False, False])
    split = recipe_fidelity(model, generate_for_recipes(DrawsRecipe(vocabulary), data["matrices"],
                                                        samples_per_recipe=6, seed=3, device=torch.device("cpu")),
                            asked, seen)
    assert split["fidelity_f1"] == pytest.approx(split["per_pizza_f1"][seen].mean(), abs=1e-6)
    assert split["unseen_fidelity_f1"] == pytest.approx(split["per_pizza_f1"][~seen].mean(), abs=1e-6)
    assert split["unseen_fidelity_f1"] - split["unseen_shuffled_f1"] > 0.3


# --- evaluate_pizza on real trained and built models -----------------------------------------------------------


@pytest.fixture(scope="module")
def models(data):
    """A CVAE-A trained briefly; a conditioned DCGAN and a CVAE-GAN saved untrained (their code paths)."""
    root, recipes = data["root"], data["recipes"]
    slots, classes = recipes["slots"], len(recipes["vocabulary"])
    paths = {"cvae_a": root / "cvae_a.pt"}
    train_pizza_model("cvae_a", data["h5"], data["json"], model_out=paths["cvae_a"], log_csv=root / "cvae_a.csv",
                      loss_png=root / "cvae_a_loss.png", progress_gif=root / "cvae_a.gif", holdout_every=HOLDOUT,
                      holdout_pizzas=UNSEEN, kl_warmup_epochs=1,
                      architecture={"latent": 8, "width": 8, "embedding": 8, "pixel_sigma": 0.1},
                      training=TrainingSettings(epochs=8, batch_size=16, lr=3e-3),
                      progress_every=4, seed=0, device="cpu", precision="fp32", threads=2)
    for kind in ("gan", "cvae_gan"):
        torch.manual_seed(0)
        model = build_pizza_model(kind, image_size=SIZE, slots=slots, classes=classes, latent=8, z_dim=8,
                                  conditioned=True, adversarial_weight=0.01, width=4, embedding=8, pixel_sigma=0.1,
                                  discriminator_width=4).eval()
        paths[kind] = root / f"{kind}.pt"
        save_pizza_model(paths[kind], model, kind=kind, arch=dict(model.arch), vocabulary=recipes["vocabulary"],
                         slots=slots, history=[], settings={})
    return paths


@pytest.fixture(scope="module")
def evaluated(data, judge, models):
    out = data["root"] / "eval"
    metrics = evaluate_pizza(models, judge[0], data["h5"], data["json"], metrics_out=out / "metrics.json",
                             samples_dir=out / "samples", holdout_every=HOLDOUT, holdout_pizzas=UNSEEN,
                             samples_per_recipe=5, kid_images=1000, seed=0, device="cpu", threads=2)
    return out, metrics


def test_metrics_json_has_the_documented_keys(evaluated):
    out, metrics = evaluated
    written = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(metrics))
    assert set(written) == {"models", "baselines", "classifier", "pizzas", "unseen_pizzas", "ingredients",
                            "image_size", "holdout_every", "n_val", "kid_images", "kid_features", "samples_per_recipe",
                            "seed", "samples", "seconds"}
    # n_val: the held-out angles (6, both mirrors) of the five pizzas the generators see
    assert written["pizzas"] == 6 and written["n_val"] == 5 * 2 * 6 and written["image_size"] == SIZE
    assert len(written["unseen_pizzas"]) == UNSEEN and written["kid_images"] == written["n_val"]
    assert set(written["baselines"]["per_recipe_mean"]) == {"kid", "kid_std"}
    assert set(written["classifier"]) == {"path", "val_f1", "val_exact_match", "val_label_accuracy",
                                          "val_shuffled_f1", "n_val"}
    assert written["classifier"]["val_f1"] > written["classifier"]["val_shuffled_f1"]
    assert set(written["models"]) == {"cvae_a", "gan", "cvae_gan"}
    for name, entry in written["models"].items():
        assert set(entry) == {"kind", "path", "parameters", "discriminator_parameters", "conditioned", "epochs",
                              "seconds_per_epoch", "val_loss", "val_reconstruction", "val_kl", "kl", "active_dims",
                              "latent", "pose_r2", "recon_vs_mean", "fidelity_f1", "shuffled_f1", "fidelity_margin",
                              "unseen_fidelity_f1", "unseen_shuffled_f1", "kid", "kid_std", "per_pizza_f1"}, name
        assert entry["kid_std"] >= 0 and 0 <= entry["unseen_fidelity_f1"] <= 1
        assert entry["kind"] == name and entry["parameters"] > 0
        assert 0 <= entry["shuffled_f1"] <= 1 and 0 <= entry["fidelity_f1"] <= 1
        assert len(entry["per_pizza_f1"]) == 6
    cvae, gan = written["models"]["cvae_a"], written["models"]["gan"]
    assert cvae["epochs"] == 8 and cvae["discriminator_parameters"] is None
    assert cvae["val_reconstruction"] > 0 and cvae["val_kl"] >= 0
    assert cvae["val_loss"] == pytest.approx(cvae["val_reconstruction"] + cvae["val_kl"], rel=1e-4)
    # eight short epochs already teach it the sauces: its own recipes score above the others
    assert cvae["fidelity_margin"] > 0.05
    assert gan["val_loss"] is None and 0 < gan["discriminator_parameters"] < gan["parameters"]
    assert gan["kl"] is None and gan["pose_r2"] is None
    assert cvae["kl"] > 0 and 0 <= cvae["active_dims"] <= cvae["latent"] == 8 and cvae["recon_vs_mean"] > 0
    assert written["models"]["cvae_gan"]["val_kl"] is not None  # its VAE part is scored like the CVAEs


def test_the_grids_have_one_tile_per_pizza_model_and_ingredient(data, evaluated):
    out, metrics = evaluated
    pizzas, ingredients = 6, len(data["recipes"]["vocabulary"]) - 1
    expected = {
        "reconstructions": grid_size(pizzas, 1 + 2, SIZE),  # the held-out image, cvae_a's and cvae_gan's
        "style_transfer": grid_size(2 * STYLE_SOURCES, 1 + pizzas, SIZE),
        # the plain base (tomato sauce, on four of the six pizzas), then each other ingredient added to it;
        # every model here is recipe-conditioned
        "one_ingredient": grid_size(1 + ingredients - len(base_ingredients(data["recipes"])), 3, SIZE),
        "gan_samples": grid_size(pizzas, 2 * 4, SIZE),  # gan and cvae_gan, 4 of the 5 samples each
    }
    assert set(metrics["samples"]) == set(GRIDS)
    for name, size in expected.items():
        path = out / "samples" / f"{name}.png"
        assert metrics["samples"][name] == str(path)
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == size, name
    assert not list((out / "samples").glob(".*"))  # no temporaries left


def test_evaluation_is_repeatable(data, judge, models, evaluated):
    _, first = evaluated
    again = evaluate_pizza({"cvae_a": models["cvae_a"]}, judge[0], data["h5"], data["json"],
                           metrics_out=data["root"] / "again" / "metrics.json",
                           samples_dir=data["root"] / "again" / "samples", holdout_every=HOLDOUT,
                           holdout_pizzas=UNSEEN, samples_per_recipe=5, kid_images=1000, seed=0, device="cpu",
                           threads=2)
    keys = ("fidelity_f1", "shuffled_f1", "val_loss", "val_kl", "kid", "pose_r2", "unseen_fidelity_f1")
    assert {k: again["models"]["cvae_a"][k] for k in keys} == {k: first["models"]["cvae_a"][k] for k in keys}
    with Image.open(data["root"] / "again" / "samples" / "gan_samples.png") as image:
        assert image.size[1] < 50  # no GAN given: a one-line note, still a file for the workflow


def test_a_judge_with_other_held_out_angles_is_refused(data, judge, models):
    with pytest.raises(NetaError, match="holdout_every"):
        evaluate_pizza({"cvae_a": models["cvae_a"]}, judge[0], data["h5"], data["json"],
                       metrics_out=data["root"] / "bad" / "metrics.json", samples_dir=data["root"] / "bad",
                       holdout_every=HOLDOUT + 1, holdout_pizzas=UNSEEN, samples_per_recipe=2, kid_images=1000,
                       seed=0, device="cpu", threads=2)
    assert not (data["root"] / "bad" / "metrics.json").exists()


# --- neta pizza generate ---------------------------------------------------------------------------------------


def test_parse_ingredients_takes_inflections_aliases_and_portions(data):
    recipes = data["recipes"]
    index = {name: i for i, name in enumerate(recipes["vocabulary"])}
    assert parse_ingredients("пепперони, моцареллы", recipes) == [index["пепперони"], index["моцарелла"]]
    assert parse_ingredients("Сыр моцарелла, красного лука", recipes) == [index["моцарелла"], index["красный лук"]]
    assert parse_ingredients("двойная порция ананасов", recipes) == [index["ананас"]] * 2


def test_parse_ingredients_refuses_unknown_names_listing_the_known_ones(data):
    with pytest.raises(NetaError) as error:
        parse_ingredients("пепперони, анчоусы", data["recipes"])
    message = str(error.value)
    assert "анчоус" in message
    assert all(name in message for name in data["recipes"]["vocabulary"][1:])
    with pytest.raises(NetaError, match="no ingredient"):
        parse_ingredients(" , ", data["recipes"])


def test_parse_ingredients_refuses_more_than_the_slots(data):
    names = data["recipes"]["vocabulary"][1:]  # 8 distinct ingredients + a double portion = 10
    assert len(parse_ingredients(", ".join(names) + ", ", data["recipes"])) == 8
    with pytest.raises(NetaError, match="9 slots"):
        parse_ingredients(", ".join(names) + ", двойная порция пепперони", data["recipes"])


def test_generate_pizza_writes_a_grid_of_count_images(data, models, tmp_path):
    out = tmp_path / "pizza.png"
    summary = generate_pizza(models["cvae_a"], "пепперони, моцареллы", data["json"], out, count=3, seed=5,
                             device="cpu")
    assert summary["ingredients"] == ["пепперони", "моцарелла"] and summary["count"] == 3
    tile = SIZE * generate.SCALE + generate.GAP
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (generate.GAP + 3 * tile, generate.GAP + tile)
    first = out.read_bytes()
    generate_pizza(models["cvae_a"], "пепперони, моцареллы", data["json"], out, count=3, seed=5, device="cpu")
    assert out.read_bytes() == first  # seeded
    with pytest.raises(NetaError, match="unknown ingredient"):
        generate_pizza(models["cvae_a"], "трюфель", data["json"], tmp_path / "no.png", count=1, seed=0, device="cpu")
    assert not (tmp_path / "no.png").exists()


def test_generate_pizza_writes_the_format_its_suffix_names(data, models, tmp_path):
    for name, fmt in (("pizza.jpg", "JPEG"), ("pizza.WEBP", "WEBP")):
        generate_pizza(models["cvae_a"], "пепперони", data["json"], tmp_path / name, count=2, seed=5, device="cpu")
        with Image.open(tmp_path / name) as image:
            assert image.format == fmt and image.size == (generate.GAP + 2 * (SIZE * generate.SCALE + generate.GAP),
                                                          2 * generate.GAP + SIZE * generate.SCALE)
    with pytest.raises(NetaError, match=r"p7\.txt: the suffix \.txt names no picture format.*\.png, \.jpg"):
        generate_pizza(models["cvae_a"], "пепперони", data["json"], tmp_path / "p7.txt", count=1, seed=0,
                       device="cpu")
    assert not (tmp_path / "p7.txt").exists()


def test_generate_with_a_corrupt_model_names_the_model_not_recipes_json(tmp_path, capsys):
    from neta.cli import main

    # a copied model without its recipes.json beside it: the model's own damage is what gets reported
    whole = tmp_path / "whole.pt"
    torch.save({"format": "neta-pizza-generator", "state_dict": {"w": torch.zeros(64, 64)}}, whole)
    for name, content in (("truncated.pt", whole.read_bytes()[:700]), ("garbage.pt", b"\x00not a model" * 50)):
        model = tmp_path / "models" / name
        model.parent.mkdir(exist_ok=True)
        model.write_bytes(content)
        code = main(["pizza", "generate", "--model", str(model), "--ingredients", "пепперони",
                     "--out", str(tmp_path / "out.png"), "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 2
        assert f"{model}: not a readable pizza generator checkpoint, the file is corrupt" in err
        assert "recipes.json" not in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()


def test_generate_without_recipes_json_says_the_model_needs_it(models, tmp_path):
    with pytest.raises(NetaError, match=r"recipes.json: no such file; .*cvae_a.pt needs the recipes.json"):
        generate_pizza(models["cvae_a"], "пепперони", tmp_path / "recipes.json", tmp_path / "out.png", count=1,
                       seed=0, device="cpu")
