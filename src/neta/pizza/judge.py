"""The recipe-fidelity judge: a small multi-label CNN that says which ingredients a pizza image shows.

Trained on the real augmented images of the training angles only (the held-out angles of
:func:`neta.pizza.dataset.load_pizza_data` give its own accuracy), one logit an ingredient, the
empty class excluded. :mod:`neta.pizza.evaluate` applies it to generated images.

The checkpoint is ``torch.save`` of one dict of tensors and plain values (``weights_only`` loads it):

=================  ==========================================================================
``format``         ``"neta-pizza-classifier"``, and ``format_version``
``arch``           the :class:`IngredientClassifier` constructor keywords
``state_dict``     the weights, CPU tensors
``holdout_every``  the held-out angles it never saw (the evaluation must hold out the same ones)
``settings``       epochs, batch size, lr, seed, device, threads, the data file and its sha256
``history``        one dict an epoch: epoch, loss, val_f1, seconds
``metrics``        held-out-angle F1, exact match, label accuracy and the shuffled-pizza F1
``neta_version``   the neta version that wrote the file
=================  ==========================================================================
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neta import __version__
from neta.atomic import atomic_path, file_sha256
from neta.device import resolve_device, seed_everything, set_threads
from neta.errors import NetaError
from neta.pizza.config import TrainingSettings
from neta.pizza.dataset import load_pizza_data, to_float
from neta.progress import progress
from neta.torch_files import load_tagged_checkpoint

log = logging.getLogger(__name__)

FORMAT, FORMAT_VERSION = "neta-pizza-classifier", 1
WIDTH = 16  # channels of the first conv; the task (which colours and shapes are on a pizza) is small
PREDICT_BATCH = 512


class IngredientClassifier(nn.Module):
    """conv 3x3 -> pool -> conv 3x3 -> pool -> conv 3x3 -> global average and max pool -> dense -> V logits.

    Global pooling, not a flattened map: an ingredient is present wherever it lies, and the data are
    every rotation of each pizza, so position carries no information.
    """

    def __init__(self, *, image_size: int, ingredients: int, width: int) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (two 2x2 poolings), got {image_size}")
        self.arch = {"image_size": int(image_size), "ingredients": int(ingredients), "width": int(width)}
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.conv3 = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in (width, 2 * width, 2 * width))
        self.hidden = nn.Linear(4 * width, 4 * width)
        self.out = nn.Linear(4 * width, ingredients)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, S, S) float in [0, 1] -> logits (B, V)."""
        h = F.max_pool2d(F.relu(self.norms[0](self.conv1(images * 2 - 1))), 2)
        h = F.max_pool2d(F.relu(self.norms[1](self.conv2(h))), 2)
        h = F.relu(self.norms[2](self.conv3(h)))
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.out(F.relu(self.hidden(pooled)))


def ingredient_sets(recipes: np.ndarray) -> np.ndarray:
    """One-hot recipes (N, slots, V+1) -> (N, V) bool: which ingredients each recipe asks for."""
    recipes = np.asarray(recipes)
    return recipes[:, :, 1:].astype(bool).any(axis=1)


def set_f1(asked: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """F1 of each row's detected ingredient set against the asked one, (B, V) bool each -> (B,).

    2|A∩D| / (|A| + |D|); two empty sets agree perfectly (1.0).
    """
    asked, detected = np.asarray(asked, dtype=bool), np.asarray(detected, dtype=bool)
    both = (asked & detected).sum(axis=1)
    total = asked.sum(axis=1) + detected.sum(axis=1)
    return np.where(total > 0, 2.0 * both / np.maximum(total, 1), 1.0)


def pairwise_f1(asked: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """F1 of every detected set (M, V) against every asked set (P, V) -> (M, P)."""
    asked, detected = np.asarray(asked, dtype=np.float64), np.asarray(detected, dtype=np.float64)
    both = detected @ asked.T
    total = detected.sum(axis=1)[:, None] + asked.sum(axis=1)[None, :]
    return np.where(total > 0, 2.0 * both / np.maximum(total, 1), 1.0)


def set_scores(asked: np.ndarray, detected: np.ndarray) -> dict:
    """Mean F1, exact-match rate and per-label accuracy of detected vs asked sets (B, V) bool."""
    asked, detected = np.asarray(asked, dtype=bool), np.asarray(detected, dtype=bool)
    return {
        "f1": round(float(set_f1(asked, detected).mean()), 6),
        "exact_match": round(float((asked == detected).all(axis=1).mean()), 6),
        "label_accuracy": round(float((asked == detected).mean()), 6),
    }


def shuffled_f1(asked: np.ndarray, detected: np.ndarray, groups: np.ndarray) -> float:
    """Mean F1 of each row's detection scored against the asked set of every *other* group.

    ``groups`` (B,) names the pizza of each row; the sets asked by a group are taken from its first
    row. This is what a judge or generator that ignores the pizza would score: the chance level.
    """
    groups = np.asarray(groups)
    names, first, member = np.unique(groups, return_index=True, return_inverse=True)
    if len(names) < 2:
        raise NetaError("the shuffled-recipe control needs at least two different pizzas")
    scores = pairwise_f1(np.asarray(asked)[first], detected)  # (B, P)
    other = np.ones_like(scores, dtype=bool)
    other[np.arange(len(member)), member] = False
    return round(float(scores[other].mean()), 6)


@torch.no_grad()
def detect_ingredients(classifier: IngredientClassifier, images_float01: torch.Tensor) -> np.ndarray:
    """Which ingredients each image (B, 3, S, S) float in [0, 1] shows -> (B, V) bool (logit > 0)."""
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    out = [
        (classifier(images_float01[i : i + PREDICT_BATCH].to(device, memory_format=torch.channels_last)) > 0).cpu()
        for i in range(0, images_float01.shape[0], PREDICT_BATCH)
    ]
    classifier.train(was_training)
    if not out:
        return np.zeros((0, classifier.arch["ingredients"]), dtype=bool)
    return torch.cat(out).numpy()


def detect_uint8(classifier: IngredientClassifier, images_uint8: np.ndarray) -> np.ndarray:
    """:func:`detect_ingredients` of uint8 images (B, 3, S, S), converted a batch at a time."""
    parts = [
        detect_ingredients(classifier, to_float(torch.from_numpy(images_uint8[i : i + PREDICT_BATCH])))
        for i in range(0, len(images_uint8), PREDICT_BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, classifier.arch["ingredients"]), dtype=bool)


def _blur_some(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blur a random half of the batch (3x3 box filter).

    The judge scores generated images, and a VAE's are blurred; trained on sharp photos alone it
    would miss ingredients a blurred image still shows, so it sees both.
    """
    blurred = F.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)
    pick = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(pick.to(images.device)[:, None, None, None], blurred, images)


def _plain_history(history: list[dict]) -> list[dict]:
    return [{k: (round(float(v), 6) if isinstance(v, float) else int(v)) for k, v in h.items()} for h in history]


def train_ingredient_classifier(
    augmented_h5: str | os.PathLike,
    *,
    model_out: str | os.PathLike,
    holdout_every: int,
    training: TrainingSettings,
    seed: int,
    device: str,
    threads: int,
) -> dict:
    """Train the judge on the training angles of ``augmented_h5``; save ``model_out``; return a summary.

    ``training``: pizza.models.classifier. The summary holds the held-out-angle F1, exact-match rate and
    per-label accuracy, and the F1 of the same detections scored against other pizzas' ingredients
    (chance level, for comparison).
    """
    started = time.perf_counter()
    set_threads(threads)
    seed_everything(seed)
    dev = resolve_device(device)
    data = load_pizza_data(augmented_h5, holdout_every=holdout_every)
    labels = ingredient_sets(data.recipes)
    train_rows, val_rows = np.flatnonzero(~data.val), np.flatnonzero(data.val)
    if train_rows.size == 0 or val_rows.size == 0:
        raise NetaError(f"{augmented_h5}: {train_rows.size} training and {val_rows.size} held-out images with "
                        f"pizza.models.holdout_every = {holdout_every}; the judge needs both")
    n_pizzas = len(np.unique(data.pizza_ids))
    log.info("read %s: %d pizzas, %d training and %d held-out images of %dx%d, %d ingredients; device %s, "
             "%d threads", augmented_h5, n_pizzas, train_rows.size, val_rows.size, data.size, data.size,
             labels.shape[1], dev, torch.get_num_threads())

    # channels-last, as the generators train: the CPU convolution kernels are faster in that layout
    model = IngredientClassifier(image_size=data.size, ingredients=labels.shape[1], width=WIDTH).to(
        dev, memory_format=torch.channels_last)
    parameters = sum(p.numel() for p in model.parameters())
    history = _fit_judge(model, data, labels, train_rows, val_rows, training=training, seed=seed, device=dev)

    detected = detect_uint8(model, data.images[val_rows])
    metrics = {
        **{f"val_{k}": v for k, v in set_scores(labels[val_rows], detected).items()},
        "val_shuffled_f1": shuffled_f1(labels[val_rows], detected, data.pizza_ids[val_rows]),
        "n_train": int(train_rows.size),
        "n_val": int(val_rows.size),
    }
    settings = {"augmented_h5": str(augmented_h5), "augmented_sha256": file_sha256(augmented_h5),
                "epochs": int(training.epochs), "batch_size": int(training.batch_size), "lr": float(training.lr),
                "seed": int(seed), "device": str(dev), "threads": int(threads)}
    _save_judge(model_out, model, holdout_every=holdout_every, settings=settings, history=history, metrics=metrics)
    seconds = time.perf_counter() - started
    log.info("wrote %s: held-out F1 %.4f (other pizzas' ingredients: %.4f), exact match %.4f, %d parameters, "
             "%.1f s", model_out, metrics["val_f1"], metrics["val_shuffled_f1"], metrics["val_exact_match"],
             parameters, seconds)
    return {
        "out": str(model_out),
        **metrics,
        "pizzas": n_pizzas,
        "ingredients": int(labels.shape[1]),
        "parameters": int(parameters),
        "epochs": int(training.epochs),
        "final_loss": round(history[-1]["loss"], 6),
        "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in history])), 3),
        "seconds": round(seconds, 3),
    }


def _fit_judge(model: IngredientClassifier, data, labels: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
               *, training: TrainingSettings, seed: int, device: torch.device) -> list[dict]:
    """The epochs: binary cross-entropy on the training angles (half of each batch blurred); the held-out
    F1 after each. One dict an epoch: epoch, loss, val_f1, seconds."""
    epochs, batch_size = training.epochs, training.batch_size
    images = torch.from_numpy(np.ascontiguousarray(data.images[train_rows]))
    targets = torch.from_numpy(labels[train_rows].astype(np.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(training.lr))
    rng = np.random.default_rng(seed)
    blur_rng = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        order = rng.permutation(train_rows.size)
        total, seen = 0.0, 0
        batches = range(0, order.size, batch_size)
        for start in progress(batches, desc=f"classifier epoch {epoch}/{epochs}", mininterval=1.0):
            idx = torch.from_numpy(order[start : start + batch_size])
            x = _blur_some(to_float(images[idx]), blur_rng).to(device, memory_format=torch.channels_last)
            loss = F.binary_cross_entropy_with_logits(model(x), targets[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * idx.numel()
            seen += idx.numel()
        train_loss = total / seen
        if not np.isfinite(train_loss):
            raise NetaError(f"ingredient classifier: loss became {train_loss} in epoch {epoch}; lower "
                            "pizza.models.classifier.lr")
        val_scores = set_scores(labels[val_rows], detect_uint8(model, data.images[val_rows]))
        seconds = time.perf_counter() - epoch_started
        history.append({"epoch": epoch, "loss": train_loss, "val_f1": val_scores["f1"], "seconds": seconds})
        log.info("classifier epoch %d/%d: loss %.4f, held-out F1 %.4f (%.1f s)", epoch, epochs, train_loss,
                 val_scores["f1"], seconds)
    return history


def _save_judge(path: str | os.PathLike, model: IngredientClassifier, *, holdout_every: int, settings: dict,
                history: list[dict], metrics: dict) -> None:
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": dict(model.arch),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "holdout_every": int(holdout_every),
        "settings": settings,
        "history": _plain_history(history),
        "metrics": metrics,
        "neta_version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def load_ingredient_classifier(path: str | os.PathLike, *, device) -> tuple[IngredientClassifier, dict]:
    """The judge at ``path`` on ``device`` in eval mode, and its checkpoint without the weights."""
    path = Path(path)
    checkpoint = load_tagged_checkpoint(path, what="ingredient classifier",
                                        how_to_make="train it with the train_ingredient_classifier rule first",
                                        tag=(FORMAT, FORMAT_VERSION),
                                        expected_file="the file train_ingredient_classifier wrote")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    try:
        model = IngredientClassifier(**checkpoint["arch"])
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise NetaError(f"{path}: weights do not match the stored architecture ({exc}); retrain") from exc
    model.to(dev, memory_format=torch.channels_last).eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}
