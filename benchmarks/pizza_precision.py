"""Benchmark: the pizza generators' training steps with bfloat16 forward passes, against float32.

Run from the repository root:  .venv/bin/python benchmarks/pizza_precision.py [--steps N] [--repeats N]

The default run trains the compact CVAEs, the DCGAN, the CVAE-GAN and the original's CVAE on one
thread each (``train_cvae``, ``train_gan``, ``train_cvae_gan``, ``train_cvae_original``); they are half
of its work. Each kind's step (the training's own step class, the default run's architecture from
``config.yaml`` and the schema, batches of 64 images of 32 px) is timed here on one thread:

* now — ``precision: bf16``: the forward passes under bfloat16 autocast (what ``auto`` takes on a CPU
  with AVX-512 BF16 or AMX);
* anchor — ``precision: fp32``, every step in float32 (the previous way).

Each runs ``--repeats`` times ``--steps`` steps from the same weights after a warm-up (the figure is
its best). On a CPU without bfloat16 in hardware, bf16 is emulated and slower: the script says which
CPU this is. Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neta.device import ForwardPrecision, native_bf16  # noqa: E402
from neta.pizza.config import architecture_of  # noqa: E402
from neta.pizza.kinds import generator_kind  # noqa: E402
from neta.pizza.models import build_pizza_model  # noqa: E402
from neta.pizza.train import STEPS  # noqa: E402
from neta.settings import validate_config  # noqa: E402

KINDS = ("cvae_a", "gan", "cvae_gan", "cvae_original")
SLOTS, CLASSES, SIZE, BATCH = 9, 28, 32, 64  # the default run's recipes and images


def time_steps(kind: str, models: dict, dtype, steps: int, repeats: int) -> float:
    family = generator_kind(kind)
    torch.manual_seed(0)
    built = build_pizza_model(kind, image_size=SIZE, slots=SLOTS, classes=CLASSES, **architecture_of(family, models))
    built.to(memory_format=torch.channels_last).train()
    images = torch.rand(BATCH, 3, SIZE, SIZE).contiguous(memory_format=torch.channels_last)
    recipes = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (BATCH, SLOTS)), CLASSES).to(torch.uint8)
    cpu = torch.device("cpu")
    lr = float(models[family.section]["lr"])
    best = float("inf")
    for _ in range(repeats):
        model = copy.deepcopy(built)
        step = STEPS[family.section](model, lr, cpu, ForwardPrecision(dtype, cpu))
        for _ in range(3):  # warm-up
            step(images, recipes, 1.0)
        start = time.perf_counter()
        for _ in range(steps):
            step(images, recipes, 1.0)
        best = min(best, time.perf_counter() - start)
    return best / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()))["pizza"]["models"]
    native = native_bf16(torch.device("cpu"))
    print(f"bfloat16 in this CPU's hardware: {native}")
    figures = {"steps": args.steps, "batch": BATCH, "native_bf16": native, "kinds": {}}
    totals = {"now": 0.0, "anchor": 0.0}
    for kind in KINDS:
        anchor = time_steps(kind, models, None, args.steps, args.repeats)
        now = time_steps(kind, models, torch.bfloat16, args.steps, args.repeats)
        totals["now"] += now
        totals["anchor"] += anchor
        figures["kinds"][kind] = {"now_ms": round(now * 1e3, 1), "anchor_ms": round(anchor * 1e3, 1),
                                  "speedup": round(anchor / now, 2)}
        print(f"{kind:14s} bf16 {now * 1e3:6.1f} ms  fp32 {anchor * 1e3:6.1f} ms a step  {anchor / now:.2f}x",
              flush=True)
    figures["speedup"] = round(totals["anchor"] / totals["now"], 2)
    print(f"now against anchor (a step of each kind): {figures['speedup']}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
