"""Train one pizza generator (``cvae_a``, ``cvae_b``, ``cvae_original``, ``gan``, ``cvae_gan``) on ``augmented.h5``.

Rows at the held-out angles (:func:`neta.pizza.dataset.load_pizza_data`) are never in a training
batch; the CVAEs' validation losses are measured on them after every epoch. Outputs of a run:

* the checkpoint (:mod:`neta.pizza.checkpoint`): the CVAEs' epoch of lowest validation loss,
  the adversarial models' last epoch (their losses do not rank epochs: each is against a moving
  discriminator);
* a CSV, one row an epoch: ``epoch, seconds`` and the kind's :data:`LOG_COLUMNS`;
* a PNG of those curves and ``progress.gif``, a sample grid every ``progress_every`` epochs.

The steps, as the original's: a CVAE minimises reconstruction + KL (its weight warmed up from 0). A
GAN step trains the discriminator on a real and a generated batch, then the generator through the
(frozen) discriminator with "real" labels. The CVAE-GAN's discriminator tells half a batch of real
images from as many fakes, reconstructions and prior samples; its VAE step adds
``adversarial_weight`` x the generator loss on those fakes. The adversarial optimisers use Adam with
beta1 = 0.5 (the DCGAN paper's), the VAEs Adam's defaults.

Cost on the default data (10,368 training images of 32 x 32, batch 64), seconds an epoch on one core
with another training job on the other, with bfloat16 forward passes (``pizza.models.precision``; in
float32 about 1.4 times as long): compact CVAE-A / B 11, cvae_original (latent 512, dense 1024) 9,
DCGAN (width 8) 18, CVAE-GAN 15. Two threads sharing a core with another job are several times slower
than one, so these rules are best run one thread each.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from neta.atomic import file_sha256, write_csv
from neta.device import ForwardPrecision, resolve_device, resolve_precision, seed_everything, set_threads
from neta.errors import NetaError
from neta.pizza.checkpoint import save_pizza_model
from neta.pizza.config import TrainingSettings
from neta.pizza.dataset import PizzaData, load_pizza_data, to_float
from neta.pizza.kinds import GENERATOR_KINDS, GeneratorKind, generator_kind
from neta.pizza.models import build_pizza_model, count_parameters
from neta.pizza.progress import MAX_ROWS, frame, plot_losses, sample_grid, write_gif
from neta.pizza.recipes import read_recipes
from neta.progress import progress

log = logging.getLogger(__name__)

VAE_TERMS = ("loss", "reconstruction", "kl")
VAL_TERMS = tuple(f"val_{term}" for term in VAE_TERMS)
GRID_SAMPLES = 6  # sampled columns of a progress frame
ADVERSARIAL_BETAS = (0.5, 0.999)
# MSGAN's weight of its diversity term. The paper's 1 made the default run's DCGAN ignore the recipe
# (fidelity at its shuffled control), 0.1 nearly so; 0.02 keeps the recipe and draws differing pizzas.
MODE_SEEKING = 0.02


def _batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    batches = [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
    if len(batches) > 1 and batches[-1].size == 1:  # batch norm cannot train on a batch of one
        batches[-2:] = [np.concatenate(batches[-2:])]
    return batches


def _adam(params, lr: float, *, adversarial: bool, device: torch.device) -> torch.optim.Adam:
    # The fused kernel updates all parameters in one pass (the dense layers hold most of them).
    betas = ADVERSARIAL_BETAS if adversarial else (0.9, 0.999)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cpu", "cuda"))


class CVAESteps:
    """A CVAE step: reconstruction + KL, Adam with its defaults. Validation losses rank its epochs."""

    log_columns = (*VAE_TERMS, *VAL_TERMS)
    optimizer = "adam"
    keeps_best_epoch = True

    def __init__(self, model: torch.nn.Module, lr: float, device: torch.device, forward: ForwardPrecision) -> None:
        self.model, self.forward = model, forward
        self.opt = _adam(model.parameters(), lr, adversarial=False, device=device)

    def __call__(self, images: torch.Tensor, recipes: torch.Tensor, kl_weight: float) -> dict[str, float]:
        reconstruction, mu, logvar = self.forward(self.model, images, recipes)
        terms = self.model.loss_function(reconstruction, images, mu, logvar, kl_weight=kl_weight)
        self.opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt.step()
        return {k: v.item() for k, v in terms.items()}


class _AdversarialSteps:
    """What the adversarial steps share: the discriminator's optimiser and step; the last epoch is kept
    (their losses do not rank epochs: each is against a moving discriminator)."""

    optimizer = "adam; beta1 0.5 for the adversarial networks"
    keeps_best_epoch = False

    def _train_discriminator(self, real_scores_fn, fake_scores_fn, loss_fn) -> float:
        d_loss = loss_fn(real_scores_fn(), fake_scores_fn())["d_loss"]
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss.item()


class GANSteps(_AdversarialSteps):
    """A DCGAN step: the discriminator on a real and a generated batch, then the generator through the
    frozen discriminator with "real" labels (it has no KL: ``kl_weight`` is not used).

    The generator's loss also holds MSGAN's mode-seeking term (Mao et al. 2019): a second draw of noise
    for the first half's recipes, and ``MODE_SEEKING`` / (how far the two images are apart per unit of
    noise apart). Not in the original: without it (and without the discriminator's minibatch spread)
    the default run's DCGAN drew one identical pizza a recipe whatever z was."""

    log_columns = ("d_loss", "g_loss", "diversity")

    def __init__(self, model: torch.nn.Module, lr: float, device: torch.device, forward: ForwardPrecision) -> None:
        self.model, self.forward = model, forward
        self.opt_g = _adam(model.generator.parameters(), lr, adversarial=True, device=device)
        self.opt_d = _adam(model.discriminator.parameters(), lr, adversarial=True, device=device)

    def __call__(self, images: torch.Tensor, recipes: torch.Tensor, kl_weight: float) -> dict[str, float]:
        model, forward = self.model, self.forward
        half = images.shape[0] // 2
        z, z_again = model.noise(images.shape[0]), model.noise(half)
        fake = forward(model.decode, z, recipes)
        d_loss = self._train_discriminator(lambda: forward(model.discriminate, images, recipes),
                                           lambda: forward(model.discriminate, fake.detach(), recipes),
                                           lambda real, fk: model.loss_function(real, fk, for_generator=False))
        # Frozen: the generator's step needs gradients through the discriminator, not of its weights.
        model.discriminator.requires_grad_(False)
        try:
            scores = forward(model.discriminate, fake, recipes)
            g_loss = model.loss_function(None, scores, for_generator=True)["g_loss"]
        finally:
            model.discriminator.requires_grad_(True)
        diversity = ((fake[:half] - forward(model.decode, z_again, recipes[:half])).abs().mean()
                     / (z[:half] - z_again).abs().mean())
        self.opt_g.zero_grad(set_to_none=True)
        (g_loss + MODE_SEEKING / (diversity + 1e-5)).backward()
        self.opt_g.step()
        return {"d_loss": d_loss, "g_loss": g_loss.item(), "diversity": diversity.item()}


class CVAEGANSteps(_AdversarialSteps):
    """A CVAE-GAN step: the discriminator tells real images from reconstructions and prior samples; the
    VAE step adds ``adversarial_weight`` x the generator loss on those fakes."""

    log_columns = (*VAE_TERMS, "g_loss", "d_loss", *VAL_TERMS)

    def __init__(self, model: torch.nn.Module, lr: float, device: torch.device, forward: ForwardPrecision) -> None:
        self.model, self.forward = model, forward
        self.opt_g = _adam(model.cvae.parameters(), lr, adversarial=False, device=device)
        self.opt_d = _adam(model.discriminator.parameters(), lr, adversarial=True, device=device)

    def __call__(self, images: torch.Tensor, recipes: torch.Tensor, kl_weight: float) -> dict[str, float]:
        model, forward = self.model, self.forward
        reconstruction, mu, logvar = forward(model, images, recipes)
        # The discriminator sees half the batch a side: the first half's real images, and fakes that are
        # reconstructions of the first quarter and prior samples for the second quarter's recipes. A full
        # batch a side made an epoch 2.5 times a CVAE's (30 s at the default sizes on one core).
        half, quarter = images.shape[0] // 2, images.shape[0] // 4
        fakes = torch.cat([reconstruction[:quarter], forward(model.sample, recipes[quarter:half])])
        fake_recipes = recipes[:half]
        d_loss = self._train_discriminator(lambda: forward(model.discriminate, images[:half], recipes[:half]),
                                           lambda: forward(model.discriminate, fakes.detach(), fake_recipes),
                                           model.discriminator_loss)
        model.discriminator.requires_grad_(False)
        try:
            terms = model.loss_function(reconstruction, images, mu, logvar, kl_weight=kl_weight,
                                        fake_scores=forward(model.discriminate, fakes, fake_recipes))
        finally:
            model.discriminator.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.opt_g.step()
        return {**{k: v.item() for k, v in terms.items()}, "d_loss": d_loss}


# The step class of each family of generators (GeneratorKind.section), and so each kind's log columns.
STEPS = {"cvae": CVAESteps, "cvae_original": CVAESteps, "gan": GANSteps, "cvae_gan": CVAEGANSteps}
LOG_COLUMNS = {kind.name: STEPS[kind.section].log_columns for kind in GENERATOR_KINDS}


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
    """One held-out row a pizza the generators see (its first: angle 0, unmirrored), in recipes.json order."""
    first = {}
    for row in data.seen_val_rows:
        first.setdefault(str(data.pizza_ids[row]), row)
    ordered = [first[p["pizza_id"]] for p in recipes["pizzas"] if p["pizza_id"] in first]
    return np.array(ordered[:MAX_ROWS], dtype=np.int64)


@dataclass
class _Fit:
    """What the epochs of one run leave: one row an epoch, the kept epoch, the progress frames."""

    history: list[dict]
    kept_epoch: int
    frames: list


def train_pizza_model(
    kind: str,
    augmented_h5: str | os.PathLike,
    recipes_json: str | os.PathLike,
    *,
    model_out: str | os.PathLike,
    log_csv: str | os.PathLike,
    loss_png: str | os.PathLike,
    progress_gif: str | os.PathLike,
    architecture: dict,
    training: TrainingSettings,
    holdout_every: int,
    holdout_pizzas: int,
    kl_warmup_epochs: float,
    progress_every: int,
    seed: int,
    device: str,
    precision: str,
    threads: int,
) -> dict:
    """Train the ``kind`` model and write its four outputs; return a summary (see the module docstring).

    Rows of the ``holdout_pizzas`` unseen pizzas (:func:`neta.pizza.dataset.load_pizza_data`) and of the
    held-out angles never reach a training batch. The KL weight of the CVAE kinds rises from 0 to 1 over
    the first ``kl_warmup_epochs`` epochs.

    ``architecture``: the model keywords (:func:`neta.pizza.config.architecture_of`); ``training``: the
    kind's section of pizza.models. ``precision`` is the training steps' forward passes
    (:func:`neta.device.resolve_precision`); the validation losses and sample grids are float32.
    Deterministic on the CPU for a given ``seed``, ``threads`` and resolved precision.
    """
    started = time.perf_counter()
    try:
        family = generator_kind(kind)
    except ValueError as exc:
        raise NetaError(str(exc)) from None
    set_threads(threads)
    seed_everything(seed)
    dev = resolve_device(device)
    forward = ForwardPrecision(resolve_precision(precision, dev), dev)

    data = load_pizza_data(augmented_h5, holdout_every=holdout_every, holdout_pizzas=holdout_pizzas, seed=seed)
    recipes = read_recipes(recipes_json)
    _check_inputs(data, recipes, augmented_h5, recipes_json)
    model = build_pizza_model(kind, image_size=data.size, slots=data.slots, classes=data.classes, **architecture)
    # NHWC: the CPU convolution kernels took about 30 % less time a step on it (CVAE, batch 64, one core)
    model.to(dev, memory_format=torch.channels_last)
    model.train()
    parameters = count_parameters(model)
    n_train, n_val = int(data.generator_rows.size), int(data.seen_val_rows.size)
    log.info("train %s: %d parameters; %d training images (%d pizzas), %d at held-out angles (every %d-th), "
             "pizzas never seen: %s; %dx%d; device %s (%s forward passes), %d threads", kind, parameters, n_train,
             len(np.unique(data.pizza_ids[data.generator_rows])), n_val, holdout_every,
             ", ".join(data.unseen_ids) or "none", data.size, data.size, dev, forward.name, torch.get_num_threads())
    steps = STEPS[family.section](model, float(training.lr), dev, forward)
    fit = _fit(family, model, steps, data, recipes, training=training, kl_warmup_epochs=kl_warmup_epochs,
               progress_every=progress_every, seed=seed, device=dev)

    history = fit.history
    seconds_per_epoch = sum(row["seconds"] for row in history) / len(history)
    write_csv(log_csv, pd.DataFrame(history, columns=["epoch", "seconds", *steps.log_columns]))
    plot_losses(history, loss_png, title=f"{kind}: {parameters:,} parameters, {seconds_per_epoch:.1f} s an epoch",
                kept_epoch=fit.kept_epoch if family.has_encoder else None)
    write_gif(fit.frames, progress_gif)
    settings = {
        "epochs": int(training.epochs), "batch_size": int(training.batch_size), "lr": float(training.lr),
        "holdout_every": int(holdout_every), "holdout_pizzas": int(holdout_pizzas), "unseen_pizzas": data.unseen_ids,
        "kl_warmup_epochs": float(kl_warmup_epochs), "progress_every": int(progress_every), "seed": int(seed),
        "device": str(dev), "precision": forward.name, "threads": int(threads), "optimizer": steps.optimizer,
        "kept_epoch": int(fit.kept_epoch), "parameters": int(parameters), "n_train": n_train, "n_val": n_val,
        "image_size": int(data.size), "seconds_per_epoch": round(seconds_per_epoch, 3),
        "augmented_sha256": file_sha256(augmented_h5), "recipes_sha256": file_sha256(recipes_json),
    }
    save_pizza_model(model_out, model, kind=kind, arch=model.arch, vocabulary=recipes["vocabulary"],
                     slots=data.slots, history=history, settings=settings)
    elapsed = time.perf_counter() - started
    loss_terms = list(steps.log_columns)
    kept = history[fit.kept_epoch - 1]
    summary = {
        "kind": kind,
        "model_out": str(model_out),
        "parameters": int(parameters),
        "parameters_detail": _parameter_detail(kind, model),
        "epochs": int(training.epochs),
        "kept_epoch": int(fit.kept_epoch),
        "seconds_per_epoch": round(seconds_per_epoch, 3),
        "seconds": round(elapsed, 3),
        "final": {key: history[-1][key] for key in loss_terms},
        "best": {key: kept[key] for key in loss_terms},
        "n_train": n_train,
        "n_val": n_val,
        "image_size": int(data.size),
        "device": str(dev),
    }
    log.info("%s: wrote %s (kept epoch %d), %s, %s, %s in %.1f s; %d parameters, %.1f s an epoch", kind, model_out,
             fit.kept_epoch, log_csv, loss_png, progress_gif, elapsed, parameters, seconds_per_epoch)
    return summary


def _fit(family: GeneratorKind, model: torch.nn.Module, steps, data: PizzaData, recipes: dict, *,
         training: TrainingSettings, kl_warmup_epochs: float, progress_every: int, seed: int,
         device: torch.device) -> _Fit:
    """The epochs: a step a batch, the epoch's mean loss terms (and validation losses where the model
    encodes), a progress frame every ``progress_every`` epochs; the model ends in eval mode with the
    weights of the kept epoch (the best validation loss where the steps rank epochs, else the last)."""
    epochs, batch_size = training.epochs, training.batch_size
    kind, section = family.name, f"pizza.models.{family.section}"
    images = torch.from_numpy(data.images).to(device)
    recipe_t = torch.from_numpy(data.recipes).to(device)
    train_rows, val_rows = data.generator_rows, data.seen_val_rows
    val_images, val_recipes = images[val_rows], recipe_t[val_rows]
    has_val = family.has_encoder
    batch_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    showcase = _showcase_rows(data, recipes)
    show_images, show_recipes = to_float(images[showcase]), recipe_t[showcase]
    scale = max(1, 24 // data.size)  # native pixels unless the images are tiny

    frames, history = [], []
    best_loss, best_epoch, best_state = math.inf, epochs, None
    warmup_steps = kl_warmup_epochs * math.ceil(train_rows.size / batch_size)
    step = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        sums: dict[str, float] = {}
        batches = _batches(batch_rng.permutation(train_rows), batch_size)
        for rows in progress(batches, desc=f"{kind} epoch {epoch}/{epochs}", mininterval=1.0,
                         dynamic_ncols=True, leave=False):
            index = torch.from_numpy(rows).to(device)
            kl_weight = min(1.0, step / warmup_steps) if warmup_steps else 1.0
            terms = steps(to_float(images[index]).contiguous(memory_format=torch.channels_last), recipe_t[index],
                          kl_weight)
            step += 1
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * rows.size
        row = {"epoch": epoch, "seconds": 0.0}
        row.update({key: sums[key] / train_rows.size for key in steps.log_columns if not key.startswith("val_")})
        if has_val:
            val = validation_losses(model, val_images, val_recipes, batch_size=batch_size, seed=seed)
            row.update({f"val_{key}": value for key, value in val.items()})
        row["seconds"] = time.perf_counter() - t0
        row = {key: (round(value, 6) if isinstance(value, float) else value) for key, value in row.items()}
        bad = [key for key, value in row.items() if not math.isfinite(value)]
        if bad:
            raise NetaError(f"{kind}: {', '.join(bad)} became non-finite in epoch {epoch}; lower {section}.lr")
        history.append(row)
        if steps.keeps_best_epoch and row["val_loss"] < best_loss:
            best_loss, best_epoch = row["val_loss"], epoch
            best_state = copy.deepcopy(model.state_dict())
        log.info("%s epoch %d/%d %.1f s: %s", kind, epoch, epochs, row["seconds"],
                 ", ".join(f"{key} {row[key]:.4f}" for key in steps.log_columns))
        if epoch % progress_every == 0 or epoch == epochs:
            grid = sample_grid(model, show_images, show_recipes, samples=GRID_SAMPLES, seed=seed,
                               reconstruct=has_val)
            frames.append(frame(grid, f"{kind}  epoch {epoch}", scale=scale))
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return _Fit(history=history, kept_epoch=best_epoch, frames=frames)


def _parameter_detail(kind: str, model: torch.nn.Module) -> dict[str, int]:
    if kind == "gan":
        return {"generator": count_parameters(model.generator), "discriminator": count_parameters(model.discriminator)}
    if kind == "cvae_gan":
        return {"cvae": count_parameters(model.cvae), "discriminator": count_parameters(model.discriminator)}
    return {"cvae": count_parameters(model)}
