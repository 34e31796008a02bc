"""Teacher-forced training of Show and Tell: Adam, gradient clipping, early stopping on validation loss.

Losses are mean cross-entropy a target token (``<eos>`` included, ``<pad>`` never), so train and
validation losses compare across batch sizes, and ``exp(loss)`` is the perplexity.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from neta.atomic import atomic_path, write_csv
from neta.device import resolve_device, seed_everything
from neta.errors import NetaError
from neta.models.captioner import ShowAndTell

log = logging.getLogger(__name__)

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "seconds")


class CaptionSet(Dataset):
    """(feature vector, caption ids) pairs; a caption is ``<bos> ... <eos>``.

    ``photo_index`` (optional) gives the feature row of each caption, so the many captions of one photo
    share its vector instead of copying it; without it, row i of ``features`` goes with caption i.
    """

    def __init__(self, features: np.ndarray, captions: Sequence[Sequence[int]],
                 photo_index: Sequence[int] | None = None) -> None:
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {features.shape}")
        rows = np.arange(len(captions)) if photo_index is None else np.asarray(photo_index, dtype=np.int64)
        if len(rows) != len(captions):
            raise ValueError(f"{len(captions)} captions but {len(rows)} feature rows")
        if len(rows) and (rows.min() < 0 or rows.max() >= features.shape[0]):
            raise ValueError(f"photo_index outside the {features.shape[0]} feature rows")
        short = [i for i, c in enumerate(captions) if len(c) < 2]
        if short:
            raise ValueError(f"captions {short[:5]} have fewer than 2 ids (<bos> and <eos>)")
        self.features = torch.from_numpy(features)
        self.rows = torch.from_numpy(rows)
        # One flat id array and offsets: a million small tensors would cost more than the ids themselves.
        self.offsets = np.concatenate([[0], np.cumsum([len(c) for c in captions], dtype=np.int64)])
        self.ids = torch.from_numpy(np.fromiter((t for c in captions for t in c), dtype=np.int64,
                                                count=int(self.offsets[-1])))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[self.rows[i]], self.ids[self.offsets[i] : self.offsets[i + 1]]


def collate_captions(batch, *, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``features (B, D)``, ``captions (B, T)`` padded with ``pad_id``, ``lengths (B,)``; longest first."""
    batch = sorted(batch, key=lambda item: len(item[1]), reverse=True)
    lengths = torch.tensor([len(c) for _, c in batch], dtype=torch.long)
    captions = torch.full((len(batch), int(lengths[0])), pad_id, dtype=torch.long)
    for i, (_, caption) in enumerate(batch):
        captions[i, : len(caption)] = caption
    return torch.stack([f for f, _ in batch]), captions, lengths


def _loader(data: CaptionSet, *, batch_size: int, pad_id: int, generator: torch.Generator | None) -> DataLoader:
    return DataLoader(data, batch_size=batch_size, shuffle=generator is not None, generator=generator,
                      collate_fn=partial(collate_captions, pad_id=pad_id))


@torch.no_grad()
def _mean_loss(model: ShowAndTell, data: CaptionSet, *, batch_size: int, device: torch.device, pad_id: int) -> float:
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    for features, captions, lengths in _loader(data, batch_size=batch_size, pad_id=pad_id, generator=None):
        loss, count = model.loss(features.to(device), captions.to(device), lengths)
        total += float(loss)
        tokens += count
    model.train(was_training)
    return total / max(tokens, 1)


def perplexity(model: ShowAndTell, data: CaptionSet, *, batch_size: int, device, pad_id: int) -> float:
    """``exp`` of the mean cross-entropy a target token of ``data`` (teacher forced, eval mode)."""
    return math.exp(_mean_loss(model, data, batch_size=batch_size, device=resolve_device(str(device)), pad_id=pad_id))


def fit_captioner(model: ShowAndTell, train: CaptionSet, val: CaptionSet, *, epochs: int, batch_size: int, lr: float,
                  clip: float, patience: int, device, seed: int, pad_id: int) -> list[dict]:
    """Train ``model`` in place; return one ``{"epoch", "train_loss", "val_loss", "seconds"}`` an epoch.

    Stops after ``patience`` epochs without a lower validation loss; the model ends on ``device``, in
    eval mode, with the weights of its best validation epoch.
    """
    if len(train) == 0:
        raise NetaError("no training captions: check the dataset, its split and vocab.max_len")
    if len(val) == 0:
        raise NetaError("no validation captions for early stopping: raise captioner.split.val_fraction")
    seed_everything(seed)
    dev = resolve_device(str(device))
    model.to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(lr))
    generator = torch.Generator().manual_seed(int(seed))
    batches = _loader(train, batch_size=batch_size, pad_id=pad_id, generator=generator)
    log.info("training on %d captions (%d batches an epoch), validating on %d; device %s, %d threads",
             len(train), len(batches), len(val), dev, torch.get_num_threads())
    history: list[dict] = []
    best_loss, best_epoch, best_state = math.inf, 0, None
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        total, tokens = 0.0, 0
        bar = tqdm(batches, desc=f"captioner epoch {epoch}/{epochs}", file=sys.stderr, mininterval=1.0,
                   dynamic_ncols=True, leave=False)
        for features, captions, lengths in bar:
            loss, count = model.loss(features.to(dev), captions.to(dev), lengths)
            optimizer.zero_grad(set_to_none=True)
            (loss / count).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            total += loss.item()
            tokens += count
            bar.set_postfix(loss=f"{total / tokens:.3f}")
        bar.close()
        train_loss = total / tokens
        val_loss = _mean_loss(model, val, batch_size=batch_size, device=dev, pad_id=pad_id)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise NetaError(f"captioner loss became {train_loss} (validation {val_loss}) in epoch {epoch}; "
                            "lower captioner.train.lr or clip")
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch, "train_loss": round(train_loss, 6), "val_loss": round(val_loss, 6),
                        "seconds": round(seconds, 3)})
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        log.info("epoch %d/%d train loss %.4f val loss %.4f (best %.4f at epoch %d) %.1f s",
                 epoch, epochs, train_loss, val_loss, best_loss, best_epoch, seconds)
        if epoch - best_epoch >= patience:
            log.info("early stop: no better validation loss for %d epochs", patience)
            break
    model.load_state_dict(best_state)
    model.eval()
    log.info("kept epoch %d (val loss %.4f, perplexity %.2f)", best_epoch, best_loss, math.exp(best_loss))
    return history


def write_train_log(history: list[dict], csv_path: str | os.PathLike) -> None:
    """``train_log.csv``: epoch, train_loss, val_loss, seconds."""
    write_csv(csv_path, pd.DataFrame(history, columns=list(LOG_COLUMNS)))


def plot_loss(history: list[dict], png_path: str | os.PathLike) -> None:
    """``loss.png``: train and validation loss an epoch, the kept (best validation) epoch marked."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    if history:
        best = min(history, key=lambda h: h["val_loss"])
        ax.axvline(best["epoch"], color="grey", linestyle=":", label=f"kept: epoch {best['epoch']}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy a token")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        # No Software/date metadata, so the same history gives the same bytes.
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
