"""Benchmark: extract_features end to end against the bare model and a naive per-image loop, same run.

Run from the repository root:  .venv/bin/python benchmarks/features.py [--photos 256] [--threads 2]

The photos are VARIANTS OF BUNDLED SAMPLE PHOTOS, not bokete photos: scikit-image's coffee, astronaut,
chelsea, rocket, hubble_deep_field, retina, immunohistochemistry and camera, and scikit-learn's china
and flower, each randomly cropped (55-100 % a side), maybe mirrored, colour-shifted (a gain a channel,
brightness) and resized to a long side of 320-640 px (about a bokete odai photo), written as JPEG to
a temporary folder from a fixed seed.

Measured, on mobilenet_v2 ``pooled`` (the default backbone and layer):

* stage: ``extract_features`` as the workflow runs it (DataLoader workers decode and resize, the model,
  the HDF5 written) per backend, batch size and worker count: images/s of decode + resize + infer +
  write, i.e. the call's time less its one-off model set-up (weights hashed and loaded, onnxruntime
  session: ``model_seconds`` of its summary, ~0.1-0.3 s a job), and, beside it, of the whole call.
  The ONNX export is one-off too, made before and timed apart, as the workflow keeps it in results/cache;
* bare: the same backend's module (normalisation and network) on uint8 crops decoded beforehand, same
  batch size;
* naive: the anchor: for each photo PIL open, transform, the plain torchvision model on a batch of one
  (eager, ``torch.no_grad``), the vector appended to a list.

Floors (issue 9): stage >= 0.7 x bare (the input pipeline costs at most 30 %), stage >= 4 x naive.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch
import torchvision
from PIL import Image, ImageEnhance
from sklearn.datasets import load_sample_images

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.features.backbones import build_extractor  # noqa: E402
from neta.features.config import FeatureSettings  # noqa: E402
from neta.features.engines import OnnxEngine, TorchEngine  # noqa: E402
from neta.features.extract import extract_features  # noqa: E402
from neta.features.inputs import images_from  # noqa: E402
from neta.features.onnx_export import onnx_session  # noqa: E402
from neta.features.weights import packaged_weights_path  # noqa: E402

BACKBONE, LAYER = "mobilenet_v2", "pooled"
SKIMAGE_SAMPLES = ("coffee", "astronaut", "chelsea", "rocket", "hubble_deep_field", "retina", "immunohistochemistry",
                   "camera")
PIPELINE_FLOOR, NAIVE_FLOOR = 0.7, 4.0


def sample_photos() -> list[Image.Image]:
    photos = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in SKIMAGE_SAMPLES]
    return photos + [Image.fromarray(image) for image in load_sample_images().images]


def variant(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random crop, maybe mirrored, colour-shifted, resized to a long side of 320-640 px."""
    width, height = photo.size
    w, h = (int(side * rng.uniform(0.55, 1.0)) for side in (width, height))
    x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    image = photo.crop((x, y, x + w, y + h))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gains = rng.uniform(0.8, 1.2, size=3)
    image = Image.fromarray(np.clip(np.asarray(image) * gains, 0, 255).astype(np.uint8))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
    scale = rng.uniform(320, 640) / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BICUBIC)


def write_photos(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    photos = sample_photos()
    for i in range(count):
        variant(photos[i % len(photos)], rng).save(folder / f"variant_{i:04d}.jpg", quality=int(rng.integers(85, 96)))


def time_stage(items, out: Path, *, backend: str, workers: int, batch_size: int, threads: int, device: str,
               onnx_dir: Path, repeats: int) -> tuple[float, float]:
    """(images/s of decode + resize + infer + write, images/s of the whole call with the one-off model set-up),
    each the best of ``repeats`` runs: the machine is shared, the best run is the least disturbed."""
    settings = FeatureSettings(backbone=BACKBONE, layer=LAYER, batch_size=batch_size, workers=workers,
                               backend=backend, dtype="float32", shards=1, max_failure_ratio=0.0)
    pipeline, whole = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        summary = extract_features(items, out, settings=settings, device=device, threads=threads, onnx_dir=onnx_dir)
        seconds = time.perf_counter() - started
        whole.append(len(items) / seconds)
        pipeline.append(len(items) / (seconds - summary["model_seconds"]))
    return max(pipeline), max(whole)


def time_bare(engine, crops: torch.Tensor, batch_size: int, repeats: int) -> float:
    engine(crops[:batch_size])  # warm-up: first-call allocations and kernel selection
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(crops), batch_size):
            engine(crops[start : start + batch_size])
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        rates.append(len(crops) / (time.perf_counter() - started))
    return max(rates)


def time_naive(items, repeats: int) -> float:
    """The anchor: one photo at a time through the plain torchvision model and its preset transforms."""
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(packaged_weights_path(BACKBONE), weights_only=True))
    model.classifier = torch.nn.Identity()
    model.eval()
    transforms = weights.transforms()
    rates = []
    for _ in range(repeats):
        vectors = []
        started = time.perf_counter()
        with torch.no_grad():
            for _, path in items:
                image = transforms(Image.open(path).convert("RGB")).unsqueeze(0)
                vectors.append(model(image)[0].numpy())
        rates.append(len(items) / (time.perf_counter() - started))
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each measurement; the best is kept")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    figures: dict[str, float] = {}
    with_setup: dict[str, float] = {}  # stage images/s over the whole call, the one-off model set-up included

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "photos").mkdir()
        write_photos(tmp / "photos", args.photos)
        items = images_from(tmp / "photos")
        print(f"{len(items)} photos: VARIANTS OF BUNDLED SAMPLES (scikit-image, scikit-learn), long side 320-640 px, "
              f"JPEG; {BACKBONE} {LAYER}, {args.threads} threads, best of {args.repeats} runs, "
              f"CUDA {'yes' if torch.cuda.is_available() else 'no'}")

        module, transforms, info = build_extractor(BACKBONE, LAYER, weights_file=None)
        started = time.perf_counter()
        session = onnx_session(module, info, tmp / "onnx", threads=args.threads)
        print(f"onnx export (one-off, kept in the cache folder): {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        crops = torch.stack([transforms(Image.open(path).convert("RGB")) for _, path in items])
        print(f"decode + resize + crop alone, one process: {len(items) / (time.perf_counter() - started):.1f} "
              "images/s")

        engines = {"torch": TorchEngine(module, device=torch.device("cpu"), dtype="float32"),
                   "onnx": OnnxEngine(session)}
        for backend, engine in engines.items():
            for batch in args.batch_sizes:
                key = f"bare_{backend}_b{batch}"
                # twice the runs of the stage's: a disturbed bare run would flatter the pipeline ratio
                figures[key] = time_bare(engine, crops, batch, 2 * args.repeats)
                print(f"bare  {backend:5s} batch {batch:3d} (CPU, decoded beforehand): {figures[key]:6.1f} images/s")
        for backend in engines:
            for batch in args.batch_sizes:
                for workers in args.workers:
                    key = f"stage_{backend}_b{batch}_w{workers}"
                    figures[key], with_setup[key] = time_stage(
                        items, tmp / f"{key}.h5", backend=backend, workers=workers, batch_size=batch,
                        threads=args.threads, device="cpu", onnx_dir=tmp / "onnx", repeats=args.repeats)
                    ratio = figures[key] / figures[f"bare_{backend}_b{batch}"]
                    print(f"stage {backend:5s} batch {batch:3d}, {workers} workers (CPU): {figures[key]:6.1f} "
                          f"images/s, {ratio:.2f} x bare ({with_setup[key]:.1f} with the model set-up)")
        if torch.cuda.is_available():
            batch = max(args.batch_sizes)
            cuda = TorchEngine(module, device=torch.device("cuda"), dtype="float32")
            figures[f"bare_torch_cuda_b{batch}"] = time_bare(cuda, crops, batch, 2 * args.repeats)
            key = f"stage_torch_cuda_b{batch}_w2"
            figures[key], with_setup[key] = time_stage(
                items, tmp / "cuda.h5", backend="torch", workers=2, batch_size=batch, threads=args.threads,
                device="cuda", onnx_dir=tmp / "onnx", repeats=args.repeats)
            print(f"CUDA batch {batch}: bare {figures[f'bare_torch_cuda_b{batch}']:.1f} images/s, stage (2 workers) "
                  f"{figures[f'stage_torch_cuda_b{batch}_w2']:.1f} images/s")
        figures["naive_torch"] = time_naive(items, args.repeats)
        print(f"naive loop (PIL, preset transforms, eager model on one photo at a time): {figures['naive_torch']:.1f} "
              "images/s")

    best = max((k for k in figures if k.startswith("stage_") and "_cuda_" not in k), key=figures.get)
    bare = best.replace("stage_", "bare_").rsplit("_w", 1)[0]
    pipeline_ratio = figures[best] / figures[bare]
    naive_speedup = figures[best] / figures["naive_torch"]
    verdict = {True: "met", False: "NOT met"}
    print(f"fastest stage on this CPU: {best} ({figures[best]:.1f} images/s); pipeline {pipeline_ratio:.2f} x {bare} "
          f"(floor {PIPELINE_FLOOR}: {verdict[pipeline_ratio >= PIPELINE_FLOOR]}), {naive_speedup:.1f} x naive "
          f"(floor {NAIVE_FLOOR:.0f}: {verdict[naive_speedup >= NAIVE_FLOOR]})")
    print(json.dumps({"bench": "features", "photos": len(items), "backbone": BACKBONE, "layer": LAYER,
                      "threads": args.threads, "fastest": best, "pipeline_ratio": round(pipeline_ratio, 2),
                      "naive_speedup": round(naive_speedup, 1),
                      "images_per_s": {k: round(v, 1) for k, v in figures.items()},
                      "stage_images_per_s_with_setup": {k: round(v, 1) for k, v in with_setup.items()}}))


if __name__ == "__main__":
    main()
