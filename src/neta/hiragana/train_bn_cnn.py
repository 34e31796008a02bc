"""Train the batch-normalised CNN (``hiragana.model: bn_cnn``) and save it as bn_cnn.pt.

It learns from the same train split and the same kind of distorted batches (``hiragana.augment``)
as the tutorial CNN of :mod:`neta.hiragana.train`, with a training of its own: AdamW, a one-cycle
learning rate (warm up to ``lr``, cosine down to nearly nothing) and label smoothing, which together
converge in a few thousand steps where the tutorial's stepped schedule needs more.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from neta.atomic import file_sha256
from neta.errors import NetaError
from neta.hiragana.augment import augment_batch
from neta.hiragana.checkpoint import save_checkpoint
from neta.hiragana.config import HiraganaAugment, HiraganaBnCnn
from neta.hiragana.model import BatchNormCNN, count_parameters, predict
from neta.hiragana.train import LOG_EVERY, EpochSampler, run_loop, start_training

NETWORK = "bn_cnn"


def bn_cnn_streams(seed: int) -> tuple[np.random.Generator, torch.Generator]:
    """Its batch order and its augmentation: children 3 and 4 of the seed, after the three the
    tutorial CNN and the baseline draw on (:func:`neta.hiragana.train.random_streams`)."""
    order, distort = np.random.SeedSequence(seed).spawn(5)[3:]
    return np.random.default_rng(order), torch.Generator().manual_seed(int(distort.generate_state(1)[0]))


def train_bn_cnn(
    etl_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    bn_cnn: HiraganaBnCnn,
    augment: HiraganaAugment,
    augment_size: int,
    seed: int,
    device: str,
    threads: int,
    log_every: int = LOG_EVERY,
) -> dict:
    """Train on the train split of ``etl_path`` and write ``out_path``; return a summary.

    ``bn_cnn`` and ``augment`` are the validated ``hiragana.bn_cnn`` and ``hiragana.augment``
    sections; ``augment_size`` is ``hiragana.size``, the side augment's pixel magnitudes are given at.
    ``etl_path`` holds images of ``bn_cnn.size`` (``neta etl convert-bn-cnn``). Deterministic on the
    CPU for a given ``seed`` and ``threads``.
    """
    started = time.perf_counter()
    dev, data = start_training(etl_path, seed=seed, device=device, threads=threads, log_every=log_every)
    if data.size != bn_cnn.size:
        raise NetaError(f"{etl_path}: holds {data.size}-pixel images, but hiragana.bn_cnn.size is {bn_cnn.size}; "
                        "convert the ETL files with `neta etl convert-bn-cnn`, which writes that size")
    # channels-last: the batch-normalised 3x3 convolutions run ~20 % faster a step on the CPU in that
    # layout (a one-channel input is the same in memory either way)
    model = BatchNormCNN(n_classes=len(data.classes), size=data.size, stride=bn_cnn.stride, widths=bn_cnn.widths,
                         pool=bn_cnn.pool, dropout=bn_cnn.dropout).to(dev, memory_format=torch.channels_last)
    order_rng, augment_rng = bn_cnn_streams(seed)
    pixel_scale = data.size / augment_size
    sampler = EpochSampler(data.x.shape[0], order_rng)
    optimizer = torch.optim.AdamW(model.parameters(), lr=bn_cnn.lr, weight_decay=bn_cnn.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=bn_cnn.lr, total_steps=bn_cnn.steps,
                                                   pct_start=bn_cnn.warmup)
    model.train()

    def step_fn(step: int) -> tuple[float, float]:
        idx = torch.from_numpy(sampler.next(bn_cnn.batch_size)).to(data.x.device)
        batch = augment_batch(data.x[idx], augment, augment_rng, pixel_scale=pixel_scale)
        batch = batch.contiguous(memory_format=torch.channels_last)
        logits = model(batch)
        loss = F.cross_entropy(logits, data.y[idx], label_smoothing=bn_cnn.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        return loss.item(), (logits.argmax(1) == data.y[idx]).float().mean().item()

    t0 = time.perf_counter()
    history = run_loop(NETWORK, step_fn, bn_cnn.steps, log_every,
                       lambda _s: optimizer.param_groups[0]["lr"], lambda _s: 1.0 - bn_cnn.dropout)
    seconds = time.perf_counter() - t0
    train_accuracy = float((predict(model, data.x) == data.y).float().mean())
    save_checkpoint(
        out_path,
        network=NETWORK,
        cnn=model,
        baseline=None,
        classes=data.classes,
        size=data.size,
        normalise=data.normalise,
        params={**bn_cnn.record(), "augment": augment.record(), "augment_size": int(augment_size),
                "seed": int(seed), "device": str(dev),
                "threads": int(threads), "optimizer": "adamw", "lr_schedule": "one-cycle"},
        history=history,
        baseline_history=None,
        train={
            "n_images": int(data.x.shape[0]),
            "n_writers": int(data.n_writers),
            "accuracy": {NETWORK: train_accuracy},
            "seconds": round(seconds, 3),
            "etl_sha256": file_sha256(etl_path),
        },
    )
    return {
        "out": str(out_path),
        "network": NETWORK,
        "parameters": count_parameters(model),
        "n_train": int(data.x.shape[0]),
        "n_classes": len(data.classes),
        "train_accuracy": round(train_accuracy, 6),
        "final_loss": history["loss"][-1],
        "train_seconds": round(seconds, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "device": str(dev),
    }
