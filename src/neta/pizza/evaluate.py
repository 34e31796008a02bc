"""evaluate_pizza: held-out losses, recipe fidelity, the latent, KID and sample grids of the pizza generators.

Recipe fidelity asks whether a generator draws what its recipe asks for. The judge
(:mod:`neta.pizza.judge`, trained on real images of every pizza: it is an instrument, not a
generator) names the ingredients it sees in ``samples_per_recipe`` images sampled from the prior for
each pizza's recipe; a score is the mean F1 between the asked-for and detected sets. The
shuffled-recipe control scores the *same* images against every other pizza's recipe: what a
generator that ignores its recipe would get. Both are given for the pizzas the generators trained on
(``fidelity_f1``: new draws of them, in poses of the prior, not the training views) and for the
unseen pizzas no generator saw an image of (``unseen_fidelity_f1``). The judge's own F1 on real
held-out images bounds the scale from above.

For the models that encode (:mod:`neta.pizza.quality`): KL and active latent dimensions on the held-out
angles, how well a linear map of the code finds the pose (``pose_r2``), and the reconstruction error
over that of the per-recipe mean image (``recon_vs_mean``). For every model, KID between
``kid_images`` (1,000 in the default run) real held-out images and one sample for each of their
recipes, on MobileNetV2 pooled features; the per-recipe mean images get the same KID as a baseline.
With 20 pizzas, an absolute FID or KID says little on its own: read it against the baseline and
between models.

``metrics.json``::

    {"models": {"<name>": {"kind", "path", "parameters", "discriminator_parameters", "conditioned", "epochs",
                           "seconds_per_epoch",
                           "val_loss", "val_reconstruction", "val_kl",      # encoding kinds; null for the GAN
                           "kl", "active_dims", "latent", "pose_r2", "recon_vs_mean",   # likewise
                           "fidelity_f1", "shuffled_f1", "fidelity_margin",
                           "unseen_fidelity_f1", "unseen_shuffled_f1",      # null without unseen pizzas
                           "kid", "kid_std", "per_pizza_f1": {"<pizza_id>": f1}}},
     "baselines": {"per_recipe_mean": {"kid", "kid_std"}},
     "classifier": {"path", "val_f1", "val_exact_match", "val_label_accuracy", "val_shuffled_f1", "n_val"},
     "pizzas", "unseen_pizzas", "ingredients", "image_size", "holdout_every", "n_val", "kid_images",
     "kid_features", "samples_per_recipe", "seed",
     "samples": {"reconstructions", "style_transfer", "one_ingredient", "gan_samples": path}, "seconds"}
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from neta.atomic import write_json
from neta.device import resolve_device, seed_everything, set_threads
from neta.errors import NetaError
from neta.features.backbones import build_extractor, fused_for_inference
from neta.pizza.checkpoint import load_pizza_model
from neta.pizza.dataset import PizzaData, load_pizza_data, to_float, to_uint8
from neta.pizza.figures import (
    base_ingredients,
    note_image,
    one_ingredient_grid,
    reconstructions_grid,
    samples_grid,
    save_png,
    style_transfer_grid,
)
from neta.pizza.judge import (
    detect_uint8,
    ingredient_sets,
    load_ingredient_classifier,
    pairwise_f1,
    set_scores,
    shuffled_f1,
)
from neta.pizza.kinds import generator_kind
from neta.pizza.models import count_parameters, gaussian_kl
from neta.pizza.quality import FEATURE_SIZE, active_dims, image_features, kid, pose_r2
from neta.pizza.recipes import read_recipes

log = logging.getLogger(__name__)

STYLE_SOURCES = 4  # pizzas a CVAE encodes for the style-transfer grid
GAN_COLUMNS = 4  # samples a recipe and model in gan_samples.png
EVAL_BATCH = 256
GRIDS = ("reconstructions", "style_transfer", "one_ingredient", "gan_samples")
KID_BACKBONE = "mobilenet_v2"  # its ImageNet weights come with an installed package: no download


@torch.no_grad()
def generate_for_recipes(model, recipes: np.ndarray, *, samples_per_recipe: int, seed: int,
                         device: torch.device) -> np.ndarray:
    """``samples_per_recipe`` images from ``model.sample`` for each recipe (P, slots, V+1) -> uint8 (P, k, 3, S, S).

    One seeded generator a call, so two models (or two runs) draw the same noise sequence.
    """
    recipes = np.asarray(recipes)
    repeated = torch.as_tensor(np.repeat(recipes, samples_per_recipe, axis=0), dtype=torch.float32)
    generator = torch.Generator(device=device).manual_seed(seed)
    parts = [to_uint8(model.sample(repeated[i : i + EVAL_BATCH].to(device), generator=generator))
             for i in range(0, len(repeated), EVAL_BATCH)]
    images = np.concatenate(parts)
    return images.reshape(len(recipes), samples_per_recipe, *images.shape[1:])


def recipe_fidelity(classifier, images: np.ndarray, asked: np.ndarray, seen: np.ndarray) -> dict:
    """Score generated images uint8 (P, k, 3, S, S) against the asked ingredient sets (P, V) bool.

    ``seen`` (P,) bool marks the pizzas the generators trained on; the others are the unseen pizzas.
    ``fidelity_f1``: mean F1 of each seen pizza's images against its own recipe; ``shuffled_f1``: the same
    images against every other pizza's recipe (a recipe-blind generator's level); ``unseen_*``: the same
    two for the unseen pizzas (None when there are none); ``per_pizza_f1``: (P,) means.
    """
    pizzas, k = images.shape[:2]
    if pizzas < 2:
        raise NetaError("recipe fidelity needs at least two pizzas (the control scores other recipes)")
    detected = detect_uint8(classifier, images.reshape(pizzas * k, *images.shape[2:]))
    scores = pairwise_f1(asked, detected).reshape(pizzas, k, pizzas)  # [asked-for pizza, sample, scored against]
    own = scores[np.arange(pizzas), :, np.arange(pizzas)].mean(axis=1)  # (P,)
    others = (scores.sum(axis=(1, 2)) - own * k) / (k * (pizzas - 1))  # (P,)
    seen = np.asarray(seen, dtype=bool)

    def mean(values: np.ndarray, rows: np.ndarray) -> float | None:
        return round(float(values[rows].mean()), 6) if rows.any() else None

    result = {
        "fidelity_f1": mean(own, seen),
        "shuffled_f1": mean(others, seen),
        "unseen_fidelity_f1": mean(own, ~seen),
        "unseen_shuffled_f1": mean(others, ~seen),
        "per_pizza_f1": own,
    }
    result["fidelity_margin"] = round(result["fidelity_f1"] - result["shuffled_f1"], 6) if seen.any() else None
    return result


@torch.no_grad()
def validation_losses(model, data: PizzaData, *, seed: int, device: torch.device) -> dict:
    """Mean reconstruction, KL and total loss a held-out image of a seen pizza (the CVAE's own loss terms)."""
    cvae = getattr(model, "cvae", model)  # the CVAE-GAN's VAE part carries the VAE loss
    rows = data.seen_val_rows
    generator = torch.Generator(device=device).manual_seed(seed)  # the reparameterisation noise
    sums: dict[str, float] = {}
    for start in range(0, rows.size, EVAL_BATCH):
        batch = rows[start : start + EVAL_BATCH]
        images = to_float(torch.from_numpy(data.images[batch])).to(device)
        recipes = torch.from_numpy(data.recipes[batch]).float().to(device)
        reconstruction, mu, logvar = cvae(images, recipes, generator=generator)
        terms = cvae.loss_function(reconstruction, images, mu, logvar)
        for key in ("loss", "reconstruction", "kl"):
            sums[key] = sums.get(key, 0.0) + float(terms[key]) * batch.size  # terms are batch means
    return {f"val_{key}": round(value / rows.size, 6) for key, value in sums.items()}


@torch.no_grad()
def _codes(model, data: PizzaData, rows: np.ndarray, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) of ``rows``, numpy."""
    mus, logvars = [], []
    for start in range(0, rows.size, EVAL_BATCH):
        batch = rows[start : start + EVAL_BATCH]
        mu, logvar = model.encode(to_float(torch.from_numpy(data.images[batch])).to(device),
                                  torch.from_numpy(data.recipes[batch]).float().to(device))
        mus.append(mu.cpu().numpy())
        logvars.append(logvar.cpu().numpy())
    return np.concatenate(mus), np.concatenate(logvars)


@torch.no_grad()
def latent_metrics(model, data: PizzaData, mean_images: dict[str, np.ndarray], *, device: torch.device) -> dict:
    """What the code of an encoding model holds, on the held-out angles of the seen pizzas.

    ``kl``: KL(q(z | x) || N(0, I)) in nats an image; ``active_dims``; ``pose_r2``
    (:func:`neta.pizza.quality.pose_r2`, fitted on the training angles); ``recon_vs_mean``: the squared
    error of the reconstruction through mu over that of the pizza's mean training image (``mean_images``,
    float (3, S, S) in [0, 1] a pizza id): below 1, z says something the recipe does not.
    """
    fit_rows, test_rows = data.generator_rows, data.seen_val_rows
    mu, logvar = _codes(model, data, test_rows, device)
    fit_mu, _ = _codes(model, data, fit_rows, device)
    model_error = mean_error = 0.0
    for start in range(0, test_rows.size, EVAL_BATCH):
        batch = test_rows[start : start + EVAL_BATCH]
        images = to_float(torch.from_numpy(data.images[batch])).to(device)
        recipes = torch.from_numpy(data.recipes[batch]).float().to(device)
        reconstruction = model.decode(torch.from_numpy(mu[start : start + EVAL_BATCH]).to(device), recipes)
        model_error += float(((reconstruction - images) ** 2).sum())
        means = torch.from_numpy(np.stack([mean_images[p] for p in data.pizza_ids[batch]])).to(device)
        mean_error += float(((means - images) ** 2).sum())
    groups = np.char.add(data.pizza_ids.astype(str), np.where(data.flipped, "/mirrored", ""))
    kl = gaussian_kl(torch.from_numpy(mu), torch.from_numpy(logvar)).mean().item()
    return {
        "kl": round(float(kl), 6),
        "active_dims": active_dims(mu),
        "latent": int(mu.shape[1]),
        "pose_r2": round(pose_r2(fit_mu, data.angles[fit_rows], groups[fit_rows], mu, data.angles[test_rows],
                                 groups[test_rows]), 6),
        "recon_vs_mean": round(model_error / mean_error, 6),
    }


def mean_images(data: PizzaData) -> dict[str, np.ndarray]:
    """The per-recipe mean image of each seen pizza, over its training angles: float (3, S, S) in [0, 1]."""
    rows = data.generator_rows
    return {pizza: data.images[rows[data.pizza_ids[rows] == pizza]].astype(np.float32).mean(axis=0) / 255.0
            for pizza in np.unique(data.pizza_ids[rows])}


@torch.no_grad()
def sample_kid(model, network, real_features: np.ndarray, recipes: np.ndarray, *, seed: int,
               device: torch.device) -> tuple[float, float]:
    """KID between ``real_features`` and the features of one sample for each of ``recipes`` (the real
    images' own recipes, so both sides ask for the same pizzas)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    parts = [to_uint8(model.sample(torch.from_numpy(recipes[i : i + EVAL_BATCH]).float().to(device),
                                   generator=generator)) for i in range(0, len(recipes), EVAL_BATCH)]
    return kid(real_features, image_features(network, np.concatenate(parts), device=device), seed=seed)


def _first_row(data: PizzaData, pizza_id: str) -> int:
    mine = data.pizza_ids == pizza_id
    held_out = np.flatnonzero(mine & data.val)
    return int(held_out[0] if held_out.size else np.flatnonzero(mine)[0])


def _pizza_table(data: PizzaData, recipes: dict, source: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(pizza ids, names, one held-out image a pizza, its recipe), pizzas in recipes.json order."""
    names = {pizza["pizza_id"]: pizza["name"] for pizza in recipes["pizzas"]}
    present = set(np.unique(data.pizza_ids).tolist())
    unknown = sorted(present - set(names))
    if unknown:
        raise NetaError(f"{source}: pizzas {', '.join(unknown[:5])} of the augmented images have no recipe; the "
                        "two files come from different runs: rerun augment_pizza")
    ids = [pizza["pizza_id"] for pizza in recipes["pizzas"] if pizza["pizza_id"] in present]
    # a held-out image of each pizza where there is one (augment_pizza makes every angle of every pizza)
    rows = [_first_row(data, pizza_id) for pizza_id in ids]
    return ids, [names[i] for i in ids], data.images[rows], data.recipes[rows]


def _check_model(path, info: dict, recipes: dict, data: PizzaData, recipes_json) -> None:
    if list(info["vocabulary"]) != list(recipes["vocabulary"]) or int(info["slots"]) != int(recipes["slots"]):
        raise NetaError(f"{path}: trained on another ingredient vocabulary than {recipes_json} "
                        f"({len(info['vocabulary']) - 1} vs {len(recipes['vocabulary']) - 1} ingredients); retrain it")
    size = info.get("arch", {}).get("image_size")
    if size is not None and int(size) != data.size:
        raise NetaError(f"{path}: makes {size}x{size} images, the augmented data are {data.size}x{data.size}; "
                        "retrain it")


def _seconds_per_epoch(history: list[dict]) -> float | None:
    seconds = [h["seconds"] for h in history if isinstance(h, dict) and "seconds" in h]
    return round(float(np.mean(seconds)), 3) if seconds else None


def _classifier_metrics(classifier, info: dict, path, data: PizzaData, holdout_every: int) -> dict:
    if int(info.get("holdout_every", -1)) != holdout_every:
        raise NetaError(f"{path}: the classifier held out every {info.get('holdout_every')}th angle, this "
                        f"evaluation every {holdout_every}th; retrain it with the same pizza.models.holdout_every")
    if classifier.arch["image_size"] != data.size or classifier.arch["ingredients"] != data.classes - 1:
        raise NetaError(f"{path}: trained on {classifier.arch['image_size']}px images with "
                        f"{classifier.arch['ingredients']} ingredients, the data have {data.size}px and "
                        f"{data.classes - 1}; retrain it on this augmented.h5")
    rows = np.flatnonzero(data.val)
    asked = ingredient_sets(data.recipes[rows])
    detected = detect_uint8(classifier, data.images[rows])
    return {
        "path": str(path),
        **{f"val_{k}": v for k, v in set_scores(asked, detected).items()},
        "val_shuffled_f1": shuffled_f1(asked, detected, data.pizza_ids[rows]),
        "n_val": int(rows.size),
    }


def evaluate_pizza(
    models: dict[str, str | os.PathLike],
    classifier_path: str | os.PathLike,
    augmented_h5: str | os.PathLike,
    recipes_json: str | os.PathLike,
    *,
    metrics_out: str | os.PathLike,
    samples_dir: str | os.PathLike,
    holdout_every: int,
    holdout_pizzas: int,
    samples_per_recipe: int,
    seed: int,
    device: str,
    threads: int,
    kid_images: int,
) -> dict:
    """Score every model (name -> checkpoint path), write ``metrics_out`` and the grids in ``samples_dir``.

    ``kid_images``: the real held-out images the KID compares (at most all of them), and one sample a model
    for each."""
    started = time.perf_counter()
    if not models:
        raise NetaError("evaluate_pizza: no model to evaluate; give at least one checkpoint")
    set_threads(threads)
    seed_everything(seed)
    dev = resolve_device(device)
    recipes = read_recipes(recipes_json)
    data = load_pizza_data(augmented_h5, holdout_every=holdout_every, holdout_pizzas=holdout_pizzas, seed=seed)
    if data.classes != len(recipes["vocabulary"]) or data.slots != recipes["slots"]:
        raise NetaError(f"{augmented_h5}: recipes of {data.slots} x {data.classes}, {recipes_json} has "
                        f"{recipes['slots']} x {len(recipes['vocabulary'])}; rerun augment_pizza")
    ids, names, images, pizza_recipes = _pizza_table(data, recipes, str(augmented_h5))
    asked = ingredient_sets(pizza_recipes)
    seen = ~np.isin(ids, data.unseen_ids)
    classifier, classifier_info = load_ingredient_classifier(classifier_path, device=dev)
    classifier_metrics = _classifier_metrics(classifier, classifier_info, classifier_path, data, holdout_every)
    log.info("read %s (%d pizzas, %d never shown to a generator: %s; %d held-out images) and %s; judge F1 on "
             "real held-out images %.4f (other pizzas' recipes: %.4f)", augmented_h5, len(ids),
             len(data.unseen_ids), ", ".join(data.unseen_ids) or "none", int(data.val.sum()), recipes_json,
             classifier_metrics["val_f1"], classifier_metrics["val_shuffled_f1"])

    means = mean_images(data)
    # batch norms folded into the convolutions and channels-last: MobileNetV2's 7,000 images of the
    # default run (96 px) take ~22 s of one core so, ~33 s as built (benchmarks/pizza_kid_features.py)
    network = fused_for_inference(build_extractor(KID_BACKBONE, "pooled", weights_file=None)[0])
    network = network.to(dev, memory_format=torch.channels_last)
    kid_rows = np.sort(np.random.default_rng(seed).choice(data.seen_val_rows, min(kid_images, data.seen_val_rows.size),
                                                          replace=False))
    real_features = image_features(network, data.images[kid_rows], device=dev)
    mean_of_row = np.stack([means[p] for p in data.pizza_ids[kid_rows]])
    baseline_kid = kid(real_features, image_features(network, (mean_of_row * 255).round().astype(np.uint8),
                                                     device=dev), seed=seed)
    baselines = {"per_recipe_mean": {"kid": round(baseline_kid[0], 6), "kid_std": round(baseline_kid[1], 6)}}
    log.info("KID of the per-recipe mean image against %d held-out images: %.4f +- %.4f", kid_rows.size,
             *baseline_kid)

    loaded, results, samples = {}, {}, {}
    for name, path in models.items():
        model, info = load_pizza_model(path, device=dev)
        _check_model(path, info, recipes, data, recipes_json)
        kind = info["kind"]
        entry = {
            "kind": kind,
            "path": str(path),
            "parameters": int(count_parameters(model)),
            # of those, the discriminator's (a GAN's or CVAE-GAN's): not needed to draw a pizza
            "discriminator_parameters": int(count_parameters(model.discriminator))
            if hasattr(model, "discriminator") else None,
            "conditioned": bool(getattr(model, "conditioned", True)),
            "epochs": len(info.get("history", [])),
            "seconds_per_epoch": _seconds_per_epoch(info.get("history", [])),
            **dict.fromkeys(("val_loss", "val_reconstruction", "val_kl", "kl", "active_dims", "latent", "pose_r2",
                             "recon_vs_mean")),
        }
        if generator_kind(kind).has_encoder:
            entry.update(validation_losses(model, data, seed=seed, device=dev))
            entry.update(latent_metrics(model, data, means, device=dev))
        samples[name] = generate_for_recipes(model, pizza_recipes, samples_per_recipe=samples_per_recipe, seed=seed,
                                             device=dev)
        fidelity = recipe_fidelity(classifier, samples[name], asked, seen)
        fidelity["per_pizza_f1"] = {pid: round(float(f), 6) for pid, f in zip(ids, fidelity["per_pizza_f1"],
                                                                              strict=True)}
        entry.update(fidelity)
        entry["kid"], entry["kid_std"] = (round(v, 6) for v in sample_kid(
            model, network, real_features, data.recipes[kid_rows], seed=seed, device=dev))
        results[name], loaded[name] = entry, (kind, model)
        log.info("%s (%s, %d parameters): fidelity F1 %.4f (control %.4f), unseen pizzas %s (control %s), "
                 "KID %.4f%s", name, kind, entry["parameters"], entry["fidelity_f1"], entry["shuffled_f1"],
                 entry["unseen_fidelity_f1"], entry["unseen_shuffled_f1"], entry["kid"],
                 f", KL {entry['kl']:.2f} nats, {entry['active_dims']} active dims, pose R2 {entry['pose_r2']:.3f}, "
                 f"error / mean image's {entry['recon_vs_mean']:.3f}" if entry["kl"] is not None else "")

    paths = _write_grids(Path(samples_dir), loaded, samples, images, pizza_recipes, names,
                         ingredients=recipes["vocabulary"][1:], base=base_ingredients(recipes), slots=recipes["slots"],
                         seed=seed, image_size=data.size)
    metrics = {
        "models": results,
        "baselines": baselines,
        "classifier": classifier_metrics,
        "pizzas": len(ids),
        "unseen_pizzas": data.unseen_ids,
        "ingredients": len(recipes["vocabulary"]) - 1,
        "image_size": data.size,
        "holdout_every": int(holdout_every),
        "n_val": int(data.seen_val_rows.size),
        "kid_images": int(kid_rows.size),
        "kid_features": f"{KID_BACKBONE} pooled, images enlarged to {FEATURE_SIZE} px",
        "samples_per_recipe": int(samples_per_recipe),
        "seed": int(seed),
        "samples": paths,
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(metrics_out, metrics)
    log.info("wrote %s and %d grids in %s in %.1f s", metrics_out, len(paths), samples_dir, metrics["seconds"])
    return metrics


def _write_grids(samples_dir: Path, loaded: dict, samples: dict, images: np.ndarray, recipes: np.ndarray,
                 names: list[str], *, ingredients: list[str], base: list[int], slots: int, seed: int,
                 image_size: int) -> dict:
    """The four grids (a note image in place of a grid no evaluated model can make); name -> path."""
    cvaes = {name: model for name, (kind, model) in loaded.items() if generator_kind(kind).has_encoder}
    conditioned = {name: model for name, (_, model) in loaded.items() if getattr(model, "conditioned", True)}
    gans = {name: samples[name] for name, (kind, _) in loaded.items() if generator_kind(kind).adversarial}
    grids = {
        "reconstructions": reconstructions_grid(cvaes, images, recipes, names) if cvaes
        else note_image("no CVAE evaluated: nothing to reconstruct"),
        "style_transfer": style_transfer_grid(cvaes, images, recipes, names, sources=STYLE_SOURCES) if cvaes
        else note_image("no CVAE evaluated: no encoder for style transfer"),
        "one_ingredient": one_ingredient_grid(conditioned, ingredients, base=base, slots=slots, seed=seed,
                                              image_size=image_size)
        if conditioned else note_image("no recipe-conditioned model evaluated"),
        "gan_samples": samples_grid(gans, names, per_model=GAN_COLUMNS) if gans else note_image("no GAN evaluated"),
    }
    paths = {}
    for key, image in grids.items():
        path = samples_dir / f"{key}.png"
        save_png(image, path)
        paths[key] = str(path)
    return paths
