"""extract_features: images -> ``features.h5``; merge_feature_shards: shard files -> one file.

Written through :func:`neta.h5io.write_h5`:

* ``/features (N, D)`` float32 (float16 when ``dtype`` says so), chunked along the rows;
* ``/image_ids (N,)`` the sha256 of each image, in input order (manifest order);
* root attributes: what the vectors are (backbone, layer, weights file and SHA-256, input size,
  normalisation: :class:`~neta.features.backbones.ExtractorInfo`), how they were computed (backend,
  device, dtype) and ``n_failed``, the images that could not be decoded.

An image that cannot be read or decoded is skipped, named in the log and counted; when more than
``max_failure_ratio`` of the images fail the stage stops with a NetaError and writes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from neta.device import set_threads
from neta.diskspace import estimate, require_free_space
from neta.errors import NetaError
from neta.features.backbones import build_extractor
from neta.features.config import FeatureSettings
from neta.features.engines import make_engine, resolve_backend
from neta.features.inputs import ImageItem
from neta.features.loader import batches, inferred_batches
from neta.features.onnx_export import onnx_path
from neta.h5io import read_h5, write_h5
from neta.progress import progress

log = logging.getLogger(__name__)

STAGE = "extract_features"
# Root attributes write_h5 adds from the stage's run; all else describes the features themselves
PROVENANCE = ("neta_version", "git_commit", "stage", "params_json", "params_sha256", "inputs_json")
_SHOWN_FAILURES = 20


def extract_features(
    items: Sequence[ImageItem],
    out_h5: str | os.PathLike,
    *,
    settings: FeatureSettings,
    device: str,
    threads: int,
    onnx_dir: str | os.PathLike | None,
    weights_file: str | os.PathLike | None = None,
) -> dict:
    """Feature vectors of ``items`` ((image_id, path) from :func:`neta.features.inputs.images_from`) -> ``out_h5``.

    ``settings``: the features section (its ``shards`` is the caller's: ``items`` is one shard or all).
    Its ``backend``: torch, onnx (onnxruntime on the CPU, the model exported once into ``onnx_dir``) or
    auto (torch on CUDA, else onnx); ``workers``: DataLoader processes decoding images (0: in this one),
    or for onnx threads that each decode and infer a batch. ``threads``: CPU threads of the model.
    ``weights_file``: None finds the ImageNet weights offline (see :mod:`neta.features.weights`).
    Returns a summary; an empty ``items`` (a shard past the last batch) writes an empty file.
    """
    started = time.perf_counter()
    backbone, layer, batch_size, workers = settings.backbone, settings.layer, settings.batch_size, settings.workers
    backend, dtype, max_failure_ratio = settings.backend, settings.dtype, settings.max_failure_ratio
    items = list(items)
    set_threads(threads)
    backend_used, device_used = resolve_backend(backend, device)
    module, transforms, info = build_extractor(backbone, layer, weights_file=weights_file)
    engine = make_engine(backend_used, module, info, device=device_used, dtype=dtype, threads=threads,
                         workers=workers, onnx_dir=onnx_dir)
    model_s = time.perf_counter() - started
    require_free_space(out_h5, features_bytes(len(items), info.dim, dtype), f"{len(items)} feature vectors")

    features, decoded, input_hashes, failures = _run(items, transforms, engine, dim=info.dim, batch_size=batch_size,
                                                     workers=workers, pin_memory=device_used.type == "cuda",
                                                     max_failures=max_failure_ratio * len(items))
    if len(failures) > max_failure_ratio * len(items):
        raise NetaError(f"{STAGE}: {len(failures)} of {len(items)} images could not be used (more than "
                        f"features.max_failure_ratio {max_failure_ratio:.0%}); {out_h5} not written. "
                        + "; ".join(f"{f['path']}: {f['error']}" for f in failures[:10]))
    infer_s = time.perf_counter() - started - model_s

    attrs = {**info.attrs(), "backend": backend_used, "device": device_used.type, "dtype": dtype,
             "n_failed": len(failures)}
    if backend_used == "onnx":
        attrs["onnx_model"] = onnx_path(onnx_dir, info).name
    image_ids = np.asarray([image_id for image_id, _ in items], dtype=object)[decoded]
    params = {"backbone": backbone, "layer": layer, "batch_size": batch_size, "backend": backend, "dtype": dtype,
              "device": device}
    _write(out_h5, features[decoded], image_ids, stage=STAGE, params=params, inputs=input_hashes, attrs=attrs)
    seconds = time.perf_counter() - started
    log.info("%s: read %d images (%d failed) -> %s: %d x %d %s (%s %s, %s on %s); model ready in %.1f s, "
             "%.1f images/s, total %.1f s", STAGE, len(items), len(failures), out_h5, int(decoded.sum()), info.dim,
             _stored_dtype(dtype).__name__, backbone, layer, backend_used, device_used.type, model_s,
             len(items) / max(infer_s, 1e-9), seconds)
    return {"out": str(out_h5), "images": int(decoded.sum()), "dim": info.dim, "backbone": backbone, "layer": layer,
            "backend": backend_used, "device": device_used.type, "n_failed": len(failures),
            "failed": failures[:_SHOWN_FAILURES], "model_seconds": round(model_s, 3),
            "images_per_s": round(len(items) / max(infer_s, 1e-9), 1), "seconds": round(seconds, 3)}


def _run(items: list[ImageItem], transforms, engine, *, dim: int, batch_size: int, workers: int, pin_memory: bool,
         max_failures: float) -> tuple[np.ndarray, np.ndarray, dict[str, str], list[dict]]:
    """(vectors, which rows were decoded, path -> sha256 read, failures); stops early past ``max_failures``."""
    features = np.zeros((len(items), dim), dtype=np.float32)
    decoded = np.zeros(len(items), dtype=bool)
    input_hashes: dict[str, str] = {}
    failures: list[dict] = []
    if engine.workers:
        source = inferred_batches(items, transforms, engine, batch_size=batch_size, workers=engine.workers)
    else:
        source = batches(items, transforms, batch_size=batch_size, workers=workers, pin_memory=pin_memory)
    with progress(total=len(items), desc=STAGE, unit="img") as bar, closing(source):
        for batch in source:
            for index, error in batch.failures:
                failures.append({"path": str(items[index][1]), "error": error})
                log.warning("%s: skipped %s: %s", STAGE, items[index][1], error)
            if len(failures) > max_failures:
                break  # leaving the loop stops the workers; the caller raises
            if batch.images is not None:
                batch.features = engine(batch.images)
            if batch.features is not None:
                features[batch.indices] = batch.features
                decoded[batch.indices] = True
            input_hashes.update({str(items[index][1]): sha256 for index, sha256 in batch.hashes.items()})
            bar.update(len(batch))
    return features, decoded, input_hashes, failures


def features_bytes(rows: int, dim: int, dtype: str) -> int:
    """The disk a features file of ``rows`` vectors takes at most: uncompressed, with a margin.

    A row is its vector and its image id (64 hex digits and a 16-byte reference); gzip gains little
    on the vectors.
    """
    return estimate(rows, dim * np.dtype(_stored_dtype(dtype)).itemsize + 64 + 16)


def _stored_dtype(dtype: str) -> type:
    return np.float16 if dtype == "float16" else np.float32


def _write(out_h5, features: np.ndarray, image_ids: np.ndarray, *, stage: str, params: dict, inputs, attrs: dict):
    write_h5(
        out_h5,
        {"features": features.astype(_stored_dtype(attrs["dtype"])), "image_ids": image_ids.astype(str)},
        stage=stage, params=params, inputs=inputs, attrs=attrs,
        dataset_attrs={
            "features": {"description": f"{attrs['layer']} vectors of {attrs['backbone']}, a row for each "
                                        "/image_ids"},
            "image_ids": {"description": "sha256 of each image file (the download manifest's sha256), input order"},
        },
    )


def merge_feature_shards(shard_paths: Sequence[str | os.PathLike], out_h5: str | os.PathLike) -> dict:
    """Concatenate shard files, in the order given, into ``out_h5``.

    Its datasets are bit for bit those one job over all images writes (shards hold whole batches, see
    :func:`neta.features.inputs.shard_of`), and so are its attributes but the inputs: the shard files'
    hashes. Shards that disagree on anything but their inputs and ``n_failed`` are an error.
    """
    started = time.perf_counter()
    paths = [Path(p) for p in shard_paths]
    if not paths:
        raise NetaError("merge features: no shard files given")
    shards = [read_h5(path, ["features", "image_ids"]) for path in paths]
    first_attrs = shards[0][1]
    for path, (_, attrs) in zip(paths[1:], shards[1:], strict=True):
        for key in sorted(set(attrs) | set(first_attrs)):
            if key not in ("inputs_json", "n_failed") and not _same(attrs.get(key), first_attrs.get(key)):
                raise NetaError(f"merge features: {path} differs from {paths[0]} in {key} "
                                f"({attrs.get(key)!r} vs {first_attrs.get(key)!r}); rerun every shard")
    features = np.concatenate([data["features"] for data, _ in shards])
    image_ids = np.concatenate([data["image_ids"] for data, _ in shards])
    require_free_space(out_h5, features_bytes(*features.shape, first_attrs["dtype"]), f"{len(image_ids)} feature "
                       "vectors")
    attrs = {key: value for key, value in first_attrs.items() if key not in PROVENANCE}
    attrs["n_failed"] = sum(int(shard_attrs["n_failed"]) for _, shard_attrs in shards)
    _write(out_h5, features, image_ids, stage=first_attrs["stage"], params=json.loads(first_attrs["params_json"]),
           inputs=paths, attrs=attrs)
    seconds = time.perf_counter() - started
    log.info("merge features: read %d shards -> %s: %d x %d in %.2f s", len(paths), out_h5, *features.shape, seconds)
    return {"out": str(out_h5), "shards": len(paths), "images": len(image_ids), "dim": int(features.shape[1]),
            "n_failed": attrs["n_failed"], "seconds": round(seconds, 3)}


def _same(a, b) -> bool:
    return type(a) is type(b) and np.array_equal(np.asarray(a), np.asarray(b))
