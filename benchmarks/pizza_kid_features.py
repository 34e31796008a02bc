"""Benchmark: the pizza report's KID features, MobileNetV2 with its batch norms folded, against as built.

Run from the repository root:  .venv/bin/python benchmarks/pizza_kid_features.py [--images N] [--repeats N]

``evaluate_pizza`` (``neta pizza evaluate``) takes MobileNetV2's pooled features of ~7,000 images of
32 px enlarged to 96 (the held-out photos, the per-recipe means and 1,000 samples of each generator)
on one thread, for the KID. Timed here on ``--images`` random 32 px images, one thread, as the rule
runs it:

* now — ``fused_for_inference``: each batch norm folded into the convolution before it, channels-last;
* anchor — the network as ``build_extractor`` builds it, channels-last (the previous way).

Each runs ``--repeats`` times after a warm-up (the figure is its best); the largest difference of the
two feature sets is printed beside the ratio (float rounding: the KID agrees to ~1e-5).

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.features.backbones import build_extractor, fused_for_inference  # noqa: E402
from neta.pizza.quality import image_features, kid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device("cpu")
    images = np.random.default_rng(0).integers(0, 256, (args.images, 3, 32, 32), dtype=np.uint8)
    networks = {
        "anchor": build_extractor("mobilenet_v2", "pooled", weights_file=None)[0],
        "now": fused_for_inference(build_extractor("mobilenet_v2", "pooled", weights_file=None)[0]),
    }
    seconds, features = {}, {}
    for name, network in networks.items():
        network = network.to(memory_format=torch.channels_last)
        image_features(network, images[:100], device=device)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            features[name] = image_features(network, images, device=device)
            times.append(time.perf_counter() - start)
        seconds[name] = min(times)
        print(f"{name:7s} {seconds[name]:6.2f} s for {args.images} images", flush=True)
    half = args.images // 2
    figures = {
        "images": args.images,
        "now_s": round(seconds["now"], 3),
        "anchor_s": round(seconds["anchor"], 3),
        "speedup": round(seconds["anchor"] / seconds["now"], 2),
        "max_feature_difference": float(np.abs(features["now"] - features["anchor"]).max()),
        "kid_now": round(kid(features["now"][:half], features["now"][half:])[0], 6),
        "kid_anchor": round(kid(features["anchor"][:half], features["anchor"][half:])[0], 6),
    }
    print(f"now against anchor: {figures['speedup']}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
