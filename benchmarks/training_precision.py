"""Benchmark: training steps with bfloat16 forward passes, against float32, for every model that has them.

Run from the repository root:  .venv/bin/python benchmarks/training_precision.py [--steps N] [--repeats N]

``pizza.models.precision`` and ``hiragana.train.precision`` (``auto``) run the forward passes of the
pizza generators' and the tutorial CNN's training steps in bfloat16 where the hardware computes it.
Those trainings are over half of the default run's work (``train_cvae``, ``train_gan``,
``train_cvae_gan``, ``train_cvae_original``, ``train_hiragana``). Each is timed here on one thread, as
its rule runs it, with the default run's settings (``config.yaml`` over the schema):

* a pizza generator: its training's own step class on batches of 64 images of 32 px;
* the tutorial CNN: ``train_cnn`` itself (augmentation, dropout and Adam included) for ``--steps``
  steps on random 28 px images of 71 classes;

now — ``bf16``, the forward passes under bfloat16 autocast (what ``auto`` takes on a CPU with AVX-512
BF16 or AMX); anchor — ``fp32``, every step in float32 (the previous way). Each runs ``--repeats``
times ``--steps`` steps from the same weights after a warm-up (the figure is its best). On a CPU
without bfloat16 in hardware, bf16 is emulated and slower: the script says which this CPU is.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neta.device import ForwardPrecision, native_bf16  # noqa: E402
from neta.hiragana.config import HiraganaAugment, HiraganaTrain  # noqa: E402
from neta.hiragana.model import HiraganaCNN  # noqa: E402
from neta.hiragana.schedules import keep_prob_schedule, learning_rate_schedule  # noqa: E402
from neta.hiragana.train import TrainSplit, train_cnn  # noqa: E402
from neta.pizza.config import architecture_of  # noqa: E402
from neta.pizza.kinds import generator_kind  # noqa: E402
from neta.pizza.models import build_pizza_model  # noqa: E402
from neta.pizza.train import STEPS  # noqa: E402
from neta.settings import validate_config  # noqa: E402

PIZZA_KINDS = ("cvae_a", "gan", "cvae_gan", "cvae_original")
SLOTS, CLASSES, SIZE, BATCH = 9, 28, 32, 64  # the default run's recipes and images
HIRAGANA_CLASSES = 71
CPU = torch.device("cpu")


def pizza_step_seconds(kind: str, models: dict, dtype, steps: int, repeats: int) -> float:
    family = generator_kind(kind)
    torch.manual_seed(0)
    built = build_pizza_model(kind, image_size=SIZE, slots=SLOTS, classes=CLASSES, **architecture_of(family, models))
    built.to(memory_format=torch.channels_last).train()
    images = torch.rand(BATCH, 3, SIZE, SIZE).contiguous(memory_format=torch.channels_last)
    recipes = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (BATCH, SLOTS)), CLASSES).to(torch.uint8)
    lr = float(models[family.section]["lr"])
    best = float("inf")
    for _ in range(repeats):
        step = STEPS[family.section](copy.deepcopy(built), lr, CPU, ForwardPrecision(dtype, CPU))
        for _ in range(3):  # warm-up
            step(images, recipes, 1.0)
        start = time.perf_counter()
        for _ in range(steps):
            step(images, recipes, 1.0)
        best = min(best, time.perf_counter() - start)
    return best / steps


def hiragana_step_seconds(settings: dict, dtype, steps: int, repeats: int) -> float:
    train = replace(HiraganaTrain.of(settings), steps=steps)
    augment = HiraganaAugment.of(settings)
    size = settings["hiragana"]["size"]
    rng = np.random.default_rng(0)
    data = TrainSplit(x=torch.from_numpy(rng.random((2000, 1, size, size), dtype=np.float32)),
                      y=torch.from_numpy(rng.integers(0, HIRAGANA_CLASSES, 2000)), classes=[""] * HIRAGANA_CLASSES,
                      size=size, n_writers=1, normalise="ink_square")
    schedules = (learning_rate_schedule(train.lr_schedule), keep_prob_schedule(train.keep_prob_schedule))
    torch.manual_seed(0)
    built = HiraganaCNN(n_classes=HIRAGANA_CLASSES, size=size, init_std=train.init_std,
                        bias_init=train.bias_init).to(memory_format=torch.channels_last)
    best = float("inf")
    for _ in range(repeats):
        def run(n: int) -> float:
            _, seconds = train_cnn(copy.deepcopy(built), data, replace(train, steps=n), augment, schedules,
                                   np.random.default_rng(1), torch.Generator().manual_seed(2), n,
                                   ForwardPrecision(dtype, CPU))
            return seconds
        run(3)  # warm-up
        best = min(best, run(steps))
    return best / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()))
    native = native_bf16(CPU)
    print(f"bfloat16 in this CPU's hardware: {native}")
    figures = {"steps": args.steps, "native_bf16": native, "models": {}}
    totals = {"now": 0.0, "anchor": 0.0}
    timers = {kind: (lambda dtype, kind=kind: pizza_step_seconds(kind, settings["pizza"]["models"], dtype,
                                                                 args.steps, args.repeats))
              for kind in PIZZA_KINDS}
    timers["hiragana_cnn"] = lambda dtype: hiragana_step_seconds(settings, dtype, args.steps, args.repeats)
    for name, timer in timers.items():
        anchor, now = timer(None), timer(torch.bfloat16)
        totals["now"] += now
        totals["anchor"] += anchor
        figures["models"][name] = {"now_ms": round(now * 1e3, 1), "anchor_ms": round(anchor * 1e3, 1),
                                   "speedup": round(anchor / now, 2)}
        print(f"{name:14s} bf16 {now * 1e3:6.1f} ms  fp32 {anchor * 1e3:6.1f} ms a step  {anchor / now:.2f}x",
              flush=True)
    figures["speedup"] = round(totals["anchor"] / totals["now"], 2)
    print(f"now against anchor (a step of each model): {figures['speedup']}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
