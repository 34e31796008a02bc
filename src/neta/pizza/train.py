"""Train one pizza generator (``cvae_a``, ``cvae_b``, ``gan`` or ``cvae_gan``) on ``augmented.h5``.

Rows at the held-out angles (:func:`neta.pizza.dataset.load_pizza_data`) are never in a training
batch; the CVAEs' validation losses are measured on them after every epoch. Outputs of a run:

* the checkpoint (:mod:`neta.pizza.checkpoint`): the CVAEs' epoch of lowest validation loss,
  the adversarial models' last epoch (their losses do not rank epochs: each is against a moving
  discriminator);
* a CSV, one row an epoch: ``epoch, seconds`` and the kind's :data:`LOG_COLUMNS`;
* a PNG of those curves and ``progress.gif``, a sample grid every ``progress_every`` epochs.

The steps, as the original's: a CVAE minimises reconstruction + KL. A GAN step trains the
discriminator on a real and a generated batch, then the generator through the (frozen) discriminator
with "real" labels. The CVAE-GAN's discriminator tells a real batch from a fake one made of
reconstructions (first half) and prior samples (second half's recipes); its VAE step adds
``adversarial_weight`` x the generator loss on those fakes. The adversarial optimisers use Adam with
beta1 = 0.5 (the DCGAN paper's), the VAEs Adam's defaults.

Cost on the default data (12,960 training images of 32 x 32, batch 64, latent 512, dense 1024, GAN
width 4), seconds an epoch on one core / two threads of an otherwise idle 2-core machine: CVAE-A 18.6 /
13.3, CVAE-B 18.5 / 13.7, GAN 12.8 / 8.2, CVAE-GAN 29.4 / 19.7. Two threads sharing a core with
another job are several times slower than one, so these rules are best run one thread each.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import time

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from neta.atomic import file_sha256, write_csv
from neta.device import resolve_device, seed_everything, set_threads
from neta.errors import NetaError
from neta.pizza.checkpoint import save_pizza_model
from neta.pizza.dataset import PizzaData, load_pizza_data, to_float
from neta.pizza.models import KINDS, build_pizza_model, count_parameters
from neta.pizza.progress import MAX_ROWS, frame, plot_losses, sample_grid, write_gif
from neta.pizza.recipes import read_recipes

log = logging.getLogger(__name__)

VAE_TERMS = ("loss", "reconstruction", "kl")
LOG_COLUMNS = {
    "cvae_a": (*VAE_TERMS, *(f"val_{t}" for t in VAE_TERMS)),
    "cvae_b": (*VAE_TERMS, *(f"val_{t}" for t in VAE_TERMS)),
    "gan": ("d_loss", "g_loss"),
    "cvae_gan": (*VAE_TERMS, "g_loss", "d_loss", *(f"val_{t}" for t in VAE_TERMS)),
}
CONFIG_SECTION = {"cvae_a": "cvae", "cvae_b": "cvae", "gan": "gan", "cvae_gan": "cvae_gan"}
GRID_SAMPLES = 6  # sampled columns of a progress frame
ADVERSARIAL_BETAS = (0.5, 0.999)


def _batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    batches = [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
    if len(batches) > 1 and batches[-1].size == 1:  # batch norm cannot train on a batch of one
        batches[-2:] = [np.concatenate(batches[-2:])]
    return batches


def _adam(params, lr: float, *, adversarial: bool, device: torch.device) -> torch.optim.Adam:
    # The fused kernel updates all parameters in one pass (the dense layers hold most of them).
    betas = ADVERSARIAL_BETAS if adversarial else (0.9, 0.999)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))


class _Steps:
    """One optimisation step of each kind on a batch; returns the batch's loss terms as floats."""

    def __init__(self, kind: str, model: torch.nn.Module, lr: float, device: torch.device) -> None:
        self.kind, self.model = kind, model
        if kind in ("cvae_a", "cvae_b"):
            self.opt = _adam(model.parameters(), lr, adversarial=False, device=device)
        elif kind == "gan":
            self.opt_g = _adam(model.generator.parameters(), lr, adversarial=True, device=device)
            self.opt_d = _adam(model.discriminator.parameters(), lr, adversarial=True, device=device)
        else:
            self.opt_g = _adam(model.cvae.parameters(), lr, adversarial=False, device=device)
            self.opt_d = _adam(model.discriminator.parameters(), lr, adversarial=True, device=device)

    def __call__(self, images: torch.Tensor, recipes: torch.Tensor) -> dict[str, float]:
        return getattr(self, f"_{'cvae' if self.kind in ('cvae_a', 'cvae_b') else self.kind}")(images, recipes)

    def _cvae(self, images, recipes):
        reconstruction, mu, logvar = self.model(images, recipes)
        terms = self.model.loss_function(reconstruction, images, mu, logvar)
        self.opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt.step()
        return {k: v.item() for k, v in terms.items()}

    def _train_discriminator(self, real_scores_fn, fake_scores_fn, loss_fn) -> float:
        d_loss = loss_fn(real_scores_fn(), fake_scores_fn())["d_loss"]
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss.item()

    def _gan(self, images, recipes):
        model = self.model
        fake = model.sample(recipes)
        d_loss = self._train_discriminator(lambda: model.discriminate(images, recipes),
                                           lambda: model.discriminate(fake.detach(), recipes),
                                           lambda real, fk: model.loss_function(real, fk, for_generator=False))
        # Frozen: the generator's step needs gradients through the discriminator, not of its weights.
        model.discriminator.requires_grad_(False)
        try:
            g_loss = model.loss_function(None, model.discriminate(fake, recipes), for_generator=True)["g_loss"]
        finally:
            model.discriminator.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": d_loss, "g_loss": g_loss.item()}

    def _cvae_gan(self, images, recipes):
        model = self.model
        reconstruction, mu, logvar = model(images, recipes)
        # Half the fakes are reconstructions, half prior samples for the other half's recipes: as many fakes
        # as real images, so the discriminator step costs what the GAN's does.
        half = images.shape[0] // 2
        fakes = torch.cat([reconstruction[:half], model.sample(recipes[half:])])
        fake_recipes = recipes
        d_loss = self._train_discriminator(lambda: model.discriminate(images, recipes),
                                           lambda: model.discriminate(fakes.detach(), fake_recipes),
                                           model.discriminator_loss)
        model.discriminator.requires_grad_(False)
        try:
            terms = model.loss_function(reconstruction, images, mu, logvar,
                                        fake_scores=model.discriminate(fakes, fake_recipes))
        finally:
            model.discriminator.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt_g.step()
        return {**{k: v.item() for k, v in terms.items()}, "d_loss": d_loss}


@torch.no_grad()
def validation_losses(model: torch.nn.Module, images_u8: torch.Tensor, recipes: torch.Tensor, *, batch_size: int,
                      seed: int) -> dict[str, float]:
    """Reconstruction, KL and their sum over ``images_u8`` (means over images), z drawn from q with a
    generator seeded with ``seed``, so every epoch is measured on the same draws."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    totals = dict.fromkeys(VAE_TERMS, 0.0)
    try:
        for start in range(0, images_u8.shape[0], batch_size):
            x = to_float(images_u8[start : start + batch_size])
            r = recipes[start : start + batch_size]
            reconstruction, mu, logvar = model(x, r, generator=generator)
            terms = model.loss_function(reconstruction, x, mu, logvar)
            for key in VAE_TERMS:
                totals[key] += terms[key].item() * x.shape[0]
    finally:
        model.train(was_training)
    return {key: value / images_u8.shape[0] for key, value in totals.items()}


def _check_inputs(data: PizzaData, recipes: dict, augmented_h5, recipes_json) -> None:
    if recipes["slots"] != data.slots or len(recipes["vocabulary"]) != data.classes:
        raise NetaError(f"{augmented_h5} holds recipes of {data.slots} slots x {data.classes} classes but "
                        f"{recipes_json} has {recipes['slots']} slots and {len(recipes['vocabulary'])} classes; "
                        "rerun the augment_pizza stage after encode_recipes")
    if data.size % 8:
        raise NetaError(f"{augmented_h5}: images of {data.size} px; the pizza models need a multiple of 8 "
                        "(set pizza.augment.size to 32 or 64)")


def _showcase_rows(data: PizzaData, recipes: dict) -> np.ndarray:
    """One held-out row a pizza (its first: angle 0, unmirrored), in recipes.json order."""
    first = {}
    for row in np.flatnonzero(data.val):
        first.setdefault(str(data.pizza_ids[row]), row)
    ordered = [first[p["pizza_id"]] for p in recipes["pizzas"] if p["pizza_id"] in first]
    return np.array(ordered[:MAX_ROWS], dtype=np.int64)


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise NetaError(f"{name}: expected an integer >= 1, got {value!r}")


def train_pizza_model(
    kind: str,
    augmented_h5: str | os.PathLike,
    recipes_json: str | os.PathLike,
    *,
    model_out: str | os.PathLike,
    log_csv: str | os.PathLike,
    loss_png: str | os.PathLike,
    progress_gif: str | os.PathLike,
    holdout_every: int,
    latent: int,
    dense: int,
    z_dim: int,
    conditioned: bool,
    adversarial_weight: float,
    width: int,
    epochs: int,
    batch_size: int,
    lr: float,
    progress_every: int,
    seed: int,
    device: str,
    threads: int,
) -> dict:
    """Train the ``kind`` model and write its four outputs; return a summary (see the module docstring).

    Every hyperparameter is required (their defaults live in the config schema); ``latent``/``dense``
    are used by the CVAEs and the CVAE-GAN, ``z_dim``/``conditioned`` by the GAN, ``width`` by both
    adversarial models' networks, ``adversarial_weight`` by the CVAE-GAN. Deterministic on the CPU for a
    given ``seed`` and ``threads``.
    """
    started = time.perf_counter()
    if kind not in KINDS:
        raise NetaError(f"unknown pizza model kind {kind!r}; one of {', '.join(KINDS)}")
    section = f"pizza.models.{CONFIG_SECTION[kind]}"
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        _check_positive_int(f"{section}.{name}", value)
    _check_positive_int("pizza.models.progress_every", progress_every)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise NetaError(f"{section}.lr: expected a positive number, got {lr!r}")
    set_threads(threads)
    seed_everything(seed)
    dev = resolve_device(device)

    data = load_pizza_data(augmented_h5, holdout_every=holdout_every)
    recipes = read_recipes(recipes_json)
    _check_inputs(data, recipes, augmented_h5, recipes_json)
    images = torch.from_numpy(data.images).to(dev)
    recipe_t = torch.from_numpy(data.recipes).to(dev)
    train_rows, val_rows = np.flatnonzero(~data.val), np.flatnonzero(data.val)
    val_images, val_recipes = images[val_rows], recipe_t[val_rows]

    model = build_pizza_model(kind, image_size=data.size, slots=data.slots, classes=data.classes, latent=latent,
                              dense=dense, z_dim=z_dim, conditioned=conditioned,
                              adversarial_weight=adversarial_weight, width=width)
    # NHWC: the CPU convolution kernels took about 30 % less time a step on it (CVAE, batch 64, one core)
    model.to(dev, memory_format=torch.channels_last)
    model.train()
    parameters = count_parameters(model)
    log.info("train %s: %d parameters; %d training images (%d pizzas), %d at held-out angles (every %d-th), "
             "%dx%d; device %s, %d threads", kind, parameters, train_rows.size, len(np.unique(data.pizza_ids)),
             val_rows.size, holdout_every, data.size, data.size, dev, torch.get_num_threads())
    step = _Steps(kind, model, float(lr), dev)
    has_val = kind != "gan"
    batch_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])

    showcase = _showcase_rows(data, recipes)
    show_images, show_recipes = to_float(images[showcase]), recipe_t[showcase]
    scale = max(1, 24 // data.size)  # native pixels unless the images are tiny
    frames = []
    history: list[dict] = []
    best_loss, best_epoch, best_state = math.inf, epochs, None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        sums: dict[str, float] = {}
        batches = _batches(batch_rng.permutation(train_rows), batch_size)
        for rows in tqdm(batches, desc=f"{kind} epoch {epoch}/{epochs}", file=sys.stderr, mininterval=1.0,
                         dynamic_ncols=True, leave=False):
            index = torch.from_numpy(rows).to(dev)
            terms = step(to_float(images[index]).contiguous(memory_format=torch.channels_last), recipe_t[index])
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * rows.size
        row = {"epoch": epoch, "seconds": 0.0}
        row.update({key: sums[key] / train_rows.size for key in LOG_COLUMNS[kind] if not key.startswith("val_")})
        if has_val:
            val = validation_losses(model, val_images, val_recipes, batch_size=batch_size, seed=seed)
            row.update({f"val_{key}": value for key, value in val.items()})
        row["seconds"] = time.perf_counter() - t0
        row = {key: (round(value, 6) if isinstance(value, float) else value) for key, value in row.items()}
        bad = [key for key, value in row.items() if not math.isfinite(value)]
        if bad:
            raise NetaError(f"{kind}: {', '.join(bad)} became non-finite in epoch {epoch}; lower {section}.lr")
        history.append(row)
        if kind in ("cvae_a", "cvae_b") and row["val_loss"] < best_loss:
            best_loss, best_epoch = row["val_loss"], epoch
            best_state = copy.deepcopy(model.state_dict())
        log.info("%s epoch %d/%d %.1f s: %s", kind, epoch, epochs, row["seconds"],
                 ", ".join(f"{key} {row[key]:.4f}" for key in LOG_COLUMNS[kind]))
        if epoch % progress_every == 0 or epoch == epochs:
            grid = sample_grid(model, show_images, show_recipes, samples=GRID_SAMPLES, seed=seed,
                               reconstruct=kind != "gan")
            frames.append(frame(grid, f"{kind}  epoch {epoch}", scale=scale))
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()

    kept = history[best_epoch - 1]
    seconds_per_epoch = sum(row["seconds"] for row in history) / len(history)
    columns = ["epoch", "seconds", *LOG_COLUMNS[kind]]
    write_csv(log_csv, pd.DataFrame(history, columns=columns))
    plot_losses(history, loss_png, title=f"{kind}: {parameters:,} parameters, {seconds_per_epoch:.1f} s an epoch",
                kept_epoch=best_epoch if has_val else None)
    write_gif(frames, progress_gif)
    settings = {
        "epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "holdout_every": int(holdout_every),
        "progress_every": int(progress_every), "seed": int(seed), "device": str(dev), "threads": int(threads),
        "optimizer": "adam" if kind in ("cvae_a", "cvae_b") else "adam; beta1 0.5 for the adversarial networks",
        "kept_epoch": int(best_epoch), "parameters": int(parameters), "n_train": int(train_rows.size),
        "n_val": int(val_rows.size), "image_size": int(data.size), "seconds_per_epoch": round(seconds_per_epoch, 3),
        "augmented_sha256": file_sha256(augmented_h5), "recipes_sha256": file_sha256(recipes_json),
    }
    save_pizza_model(model_out, model, kind=kind, arch=model.arch, vocabulary=recipes["vocabulary"],
                     slots=data.slots, history=history, settings=settings)
    elapsed = time.perf_counter() - started
    loss_terms = list(LOG_COLUMNS[kind])
    summary = {
        "kind": kind,
        "model_out": str(model_out),
        "parameters": int(parameters),
        "parameters_detail": _parameter_detail(kind, model),
        "epochs": int(epochs),
        "kept_epoch": int(best_epoch),
        "seconds_per_epoch": round(seconds_per_epoch, 3),
        "seconds": round(elapsed, 3),
        "final": {key: history[-1][key] for key in loss_terms},
        "best": {key: kept[key] for key in loss_terms},
        "n_train": int(train_rows.size),
        "n_val": int(val_rows.size),
        "image_size": int(data.size),
        "device": str(dev),
    }
    log.info("%s: wrote %s (kept epoch %d), %s, %s, %s in %.1f s; %d parameters, %.1f s an epoch", kind, model_out,
             best_epoch, log_csv, loss_png, progress_gif, elapsed, parameters, seconds_per_epoch)
    return summary


def _parameter_detail(kind: str, model: torch.nn.Module) -> dict[str, int]:
    if kind == "gan":
        return {"generator": count_parameters(model.generator), "discriminator": count_parameters(model.discriminator)}
    if kind == "cvae_gan":
        return {"cvae": count_parameters(model.cvae), "discriminator": count_parameters(model.discriminator)}
    return {"cvae": count_parameters(model)}
