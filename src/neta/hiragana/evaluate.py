"""Test-split metrics and figures for a trained hiragana model (CNN and softmax baseline)."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from neta.atomic import write_json
from neta.device import resolve_device
from neta.errors import NetaError
from neta.figures import save_figure
from neta.hiragana.checkpoint import LoadedModels, load_models, model_classes
from neta.hiragana.dataset import load_etl_split, to_float_batch
from neta.hiragana.etl.writers_table import read_writer_hands
from neta.hiragana.figures import confusion_figure, errors_figure, filters_figure
from neta.hiragana.model import predict
from neta.hiragana.reading import read_classes

log = logging.getLogger(__name__)

__all__ = ["evaluate_arrays", "evaluate_etl_dir", "evaluate_hiragana", "model_classes", "score_heldout_styles",
           "voicing_errors"]

MAX_ERRORS_SHOWN = 60
MOST_CONFUSED_SHOWN = 10


def _label_indices(labels, classes: list[str], source: str) -> np.ndarray:
    """Labels as indices into ``classes``: characters are looked up, integers range-checked."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise NetaError(f"{source}: labels must be one-dimensional, got shape {labels.shape}")
    if labels.dtype.kind in "USO":
        index = {c: i for i, c in enumerate(classes)}
        chars = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in labels]
        unknown = sorted({c for c in chars if c not in index})
        if unknown:
            raise NetaError(
                f"{source}: character(s) {' '.join(unknown)} ({', '.join(f'U+{ord(c[0]):04X}' for c in unknown)}) "
                f"are not among the model's {len(classes)} classes; evaluate only those classes or retrain "
                "with a class set that includes them"
            )
        return np.fromiter((index[c] for c in chars), dtype=np.int64, count=len(chars))
    if labels.dtype.kind not in "iu":
        raise NetaError(f"{source}: labels must be characters or class indices, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise NetaError(
            f"{source}: label indices must lie in 0..{len(classes) - 1}, found {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


def _check_images(images: np.ndarray, size: int, source: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (size, size):
        raise NetaError(
            f"{source}: expected images of shape (N, {size}, {size}) as the model was trained, got {images.shape}"
        )
    if images.dtype != np.uint8:
        raise NetaError(f"{source}: expected uint8 images (0..255, ink high), got {images.dtype}")
    if images.shape[0] == 0:
        raise NetaError(f"{source}: no images to evaluate (no sample of the model's classes was found)")
    return images


def _confusion(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(true * n + pred, minlength=n * n).reshape(n, n)


def _most_confused(confusion: np.ndarray, classes: list[str]) -> list[dict]:
    """The largest off-diagonal cells of a confusion matrix (rows true, columns predicted)."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:MOST_CONFUSED_SHOWN]
    return [
        {"true": classes[t], "pred": classes[p], "count": int(off[t, p])}
        for t, p in zip(*np.unravel_index(order, off.shape), strict=True)
        if off[t, p] > 0
    ]


def voiced_twins(classes: list[str]) -> dict[int, set[int]]:
    """Class index of each base character -> indices of its voiced and semi-voiced twins among ``classes``."""
    index = {c: i for i, c in enumerate(classes)}
    twins: dict[int, set[int]] = {}
    for char, i in index.items():
        for mark in ("\u3099", "\u309a"):
            twin = unicodedata.normalize("NFC", char + mark)
            if len(twin) == 1 and twin in index:
                twins.setdefault(i, set()).add(index[twin])
    return twins


def voicing_errors(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    """How often the model writes a voicing mark that is not there, or reads one mark as the other.

    ``phantom_dakuten_rate``: of the samples of base characters that have a voiced twin (て, か, は,
    ...), the share read as that twin (で, が, ば or ぱ). ``mark_swap_rate``: of the samples with a
    mark, the share read as the same base with the other mark (ぱ as ば, ば as ぱ).
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    twins = voiced_twins(classes)
    base = np.isin(labels, list(twins))
    phantom = np.array([p in twins.get(t, ()) for t, p in zip(labels.tolist(), predicted.tolist(), strict=True)],
                       dtype=bool)
    marked_twins = {}  # a marked character -> the base's other marked form
    for group in twins.values():
        for a in group:
            marked_twins[a] = group - {a}
    marked = np.isin(labels, list(marked_twins))
    swap = np.array([p in marked_twins.get(t, ()) for t, p in zip(labels.tolist(), predicted.tolist(), strict=True)],
                    dtype=bool)
    return {
        "phantom_dakuten_rate": round(float(phantom.sum() / base.sum()), 6) if base.any() else None,
        "n_phantom_dakuten": int(phantom.sum()),
        "n_base_with_twin": int(base.sum()),
        "mark_swap_rate": round(float(swap.sum() / marked.sum()), 6) if marked.any() else None,
        "n_mark_swap": int(swap.sum()),
        "n_marked": int(marked.sum()),
    }


def _score(models: LoadedModels, images: np.ndarray, labels: np.ndarray, device: torch.device) -> dict:
    """Predictions of the recognizer (and of model.pt's baseline) and the metrics derived from them."""
    x = to_float_batch(images).to(device)
    cnn_pred = read_classes(models.cnn, x).cpu().numpy()
    classes = models.classes
    n_classes = len(classes)
    cnn_right = cnn_pred == labels
    counts = np.bincount(labels, minlength=n_classes)

    def per_class_accuracy(right: np.ndarray) -> list:
        hits = np.bincount(labels, weights=right, minlength=n_classes)
        # None (JSON null) rather than 0 for a class with no test sample: nothing was measured.
        return [round(float(hits[i] / counts[i]), 6) if counts[i] else None for i in range(n_classes)]

    cnn_by_class = per_class_accuracy(cnn_right)
    per_class = {char: {"count": int(counts[i]), "accuracy": cnn_by_class[i]} for i, char in enumerate(classes)}
    confusion = _confusion(labels, cnn_pred, n_classes)
    cnn_acc = float(cnn_right.mean())
    metrics = {
        "cnn": {"accuracy": round(cnn_acc, 6), "n_correct": int(cnn_right.sum()),
                **voicing_errors(labels, cnn_pred, classes)},
        "n_test": int(labels.size),
        "n_classes": n_classes,
        "n_classes_tested": int((counts > 0).sum()),
        "per_class": per_class,
        "most_confused": _most_confused(confusion, classes),
    }
    if models.baseline is not None:
        base_pred = predict(models.baseline, x).cpu().numpy()
        base_right = base_pred == labels
        base_acc = float(base_right.mean())
        for char, accuracy in zip(classes, per_class_accuracy(base_right), strict=True):
            per_class[char]["baseline_accuracy"] = accuracy
        metrics["baseline"] = {"accuracy": round(base_acc, 6), "n_correct": int(base_right.sum())}
        metrics["margin_points"] = round(100.0 * (cnn_acc - base_acc), 3)
        metrics["baseline_most_confused"] = _most_confused(_confusion(labels, base_pred, n_classes), classes)
    return {"metrics": metrics, "cnn_pred": cnn_pred, "confusion": confusion}


def score_heldout_styles(models: LoadedModels, etl_path: str | os.PathLike, device: torch.device) -> dict:
    """Accuracy and most confused pairs of both models on every image of ``etl_path``.

    ``etl_path`` is an ``etl_28.h5`` of writers whose style families training never saw (``neta etl
    synth --heldout-styles`` then ``neta etl convert``); its train/test split is ignored, since no
    image of it was trained on.
    """
    parts = [load_etl_split(etl_path, split) for split in ("train", "test")]
    if parts[0].classes != models.classes:
        raise NetaError(
            f"{etl_path}: its class table ({len(parts[0].classes)} classes) differs from the model's "
            f"({len(models.classes)}); convert it with the same hiragana.classes"
        )
    images = _check_images(np.concatenate([p.images for p in parts]), models.size, str(etl_path))
    labels = np.concatenate([p.labels for p in parts])
    writers = np.concatenate([p.writers for p in parts])
    scored = _score(models, images, labels, device)["metrics"]
    found = {
        "etl": str(etl_path),
        "n_images": int(labels.size),
        "n_writers": int(np.unique(writers).size),
        "cnn": {**scored["cnn"], "most_confused": scored["most_confused"]},
        "per_class": scored["per_class"],
    }
    if "baseline" in scored:
        found["baseline"] = {"accuracy": scored["baseline"]["accuracy"],
                             "most_confused": scored["baseline_most_confused"]}
    return found


def evaluate_arrays(
    model_path: str | os.PathLike,
    images_uint8: np.ndarray,
    labels: Sequence | np.ndarray,
    *,
    writers: np.ndarray | None = None,
    device: str,
) -> dict:
    """Metrics of the model at ``model_path`` on any images ``(N, S, S)`` uint8 (ink high).

    ``labels`` are characters (mapped onto the model's classes; an unknown one is an error naming it)
    or class indices.
    """
    dev = resolve_device(device)
    models = load_models(model_path, dev)
    images = _check_images(images_uint8, models.size, str(model_path))
    index = _label_indices(labels, models.classes, str(model_path))
    if index.shape[0] != images.shape[0]:
        raise NetaError(f"{model_path}: {images.shape[0]} images but {index.shape[0]} labels")
    metrics = _score(models, images, index, dev)["metrics"]
    if writers is not None:
        metrics["n_writers_test"] = int(np.unique(np.asarray(writers)).size)
    metrics["model"] = str(model_path)
    return metrics


def read_etl_inputs(etl_dir: str | os.PathLike, fmt_name: str, classes: list[str], sizes: Sequence[int],
                    normalise: str, workers: int = 1, *, known: dict[bytes, list[np.ndarray]] | None = None,
                    ) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """Every record of ``classes`` in ``etl_dir`` as model inputs: (a size -> images, characters, writers).

    Records are normalised as a model's training records were (its checkpoint's ``normalise``), once
    for all ``sizes``. ``known``, if given, gets each record's grey (a digest) -> its inputs at ``sizes``,
    for :func:`_prepare_many`, when pictures are framed as the records are.
    """
    from neta.hiragana.etl.formats import get_format
    from neta.hiragana.etl.reader import read_etl_dir
    from neta.hiragana.normalise import normalise_records_sizes, picture_framing, record_grey

    fmt = get_format(fmt_name)
    records = read_etl_dir(etl_dir, fmt, classes)
    if len(records) == 0:
        raise NetaError(f"{etl_dir}: no {fmt.name} record of the model's {len(classes)} classes")
    names = [f"{etl_dir}: {fmt.name} record {i} ({c})" for i, c in enumerate(records.chars)]
    images = normalise_records_sizes(records.images, fmt.bits, sizes, normalise, names=names, workers=workers)
    if known is not None and picture_framing(normalise) == normalise:
        for i, raw in enumerate(records.images):
            known.setdefault(_digest(record_grey(raw, fmt.bits)), [images[int(size)][i] for size in sizes])
    return images, records.chars, records.writers


def evaluate_etl_dir(
    model_path: str | os.PathLike, etl_dir: str | os.PathLike, fmt_name: str, *, device: str, workers: int = 1
) -> dict:
    """`neta hiragana eval`: metrics of the model on every record of its classes in ``etl_dir``."""
    models = load_models(model_path, "cpu")
    images, chars, writers = read_etl_inputs(etl_dir, fmt_name, models.classes, (models.size,), models.normalise,
                                             workers)
    metrics = evaluate_arrays(model_path, images[models.size], chars, writers=writers, device=device)
    metrics.update({"etl_dir": str(etl_dir), "format": fmt_name, "normalise": models.normalise})
    return metrics


_BRIEF_KEYS = ("accuracy", "phantom_dakuten_rate", "n_phantom_dakuten", "n_base_with_twin", "mark_swap_rate")


def _brief(scored: dict) -> dict:
    """The headline of a metrics dict: accuracy, voicing errors, most confused pairs."""
    cnn = scored["cnn"]
    return {"n": scored["n_test"], **{k: cnn[k] for k in _BRIEF_KEYS}, "most_confused": scored["most_confused"][:5]}


def _prepare_many(paths: list[Path], sizes: tuple[int, ...], normalise: str, workers: int,
                  known: Mapping[bytes, list[np.ndarray]] | None = None) -> dict[int, np.ndarray]:
    """Pictures as ``neta hiragana predict`` prepares them, at each of ``sizes`` (a size -> images).

    A picture whose grey is, bit for bit, a record's in ``known`` (see :func:`read_etl_inputs`) takes
    that record's inputs: the same grey through the same normalisation. Relayout's g128 and b64
    pictures are their ETL8G and ETL8B2 records' greys, and framing them again took a fifth of the
    default run's evaluation.
    """
    from neta.hiragana.predict import picture_name, prepare_grey_sizes, prepare_image_sizes, read_grey

    prepared: list[list[np.ndarray] | None] = [None] * len(paths)
    pooled = list(range(len(paths)))
    # a picture's products are tiny: BLAS threads only cost time (see neta.hiragana.normalise)
    if known or workers <= 1:
        pooled = []
        with threadpool_limits(1):
            for i, path in enumerate(paths):
                grey = read_grey(path)
                prepared[i] = (known or {}).get(_digest(grey))
                if prepared[i] is None and workers <= 1:
                    prepared[i] = prepare_grey_sizes(grey, sizes, normalise, picture_name(path))
                elif prepared[i] is None:
                    pooled.append(i)
    if pooled:
        with ProcessPoolExecutor(max_workers=workers, initializer=threadpool_limits, initargs=(1,)) as pool:
            framed = pool.map(prepare_image_sizes, [paths[i] for i in pooled], [sizes] * len(pooled),
                              [normalise] * len(pooled), chunksize=64)
            for i, images in zip(pooled, framed, strict=True):
                prepared[i] = images
    return {size: np.stack([images[k] for images in prepared]) for k, size in enumerate(sizes)}


def score_layouts(models: Mapping[str, LoadedModels], layout_dir: str | os.PathLike, *, device: torch.device,
                  workers: int = 1) -> dict[str, dict]:
    """One writer set (``neta etl relayout``) scored in each ETL layout as ``neta hiragana eval``
    scores it and as pictures as ``neta hiragana predict`` prepares them, by each of ``models`` (a
    name -> its loaded checkpoint); returns a name -> {"<layout>_eval" or "pictures_<set>_predict"
    -> its headline}.

    The models must share their normalisation and classes; their input sizes may differ (the tutorial
    CNN reads 28 pixels, the batch-normalised CNN 56). Every record and picture is framed once and
    reduced to each size.
    """
    from neta.hiragana.etl.relayout import PICTURE_SETS, read_picture_labels

    layout_dir = Path(layout_dir)
    first_name, first = next(iter(models.items()))
    for name, loaded in models.items():
        if (loaded.normalise, loaded.classes) != (first.normalise, first.classes):
            raise NetaError(f"{name}: its normalisation or classes differ from {first_name}'s; "
                            "score them one at a time")
    sizes = tuple(dict.fromkeys(loaded.size for loaded in models.values()))
    inputs: dict[str, tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]] = {}
    known: dict[bytes, list[np.ndarray]] = {}  # a record's grey -> its inputs, for the pictures of it
    for fmt in ("ETL8G", "ETL8B2"):
        if (layout_dir / fmt).is_dir() and any((layout_dir / fmt).iterdir()):  # no ETL8G copy of B-type input
            images, chars, writers = read_etl_inputs(layout_dir / fmt, fmt, first.classes, sizes, first.normalise,
                                                     workers, known=known)
            inputs[f"{fmt}_eval"] = images, _label_indices(chars, first.classes, str(layout_dir / fmt)), writers
    # as eval does with records: pictures of characters outside the model's classes are not scored
    rows = [row for row in read_picture_labels(layout_dir / "pictures") if row[1] in first.classes]
    labels = _label_indices(np.array([char for _, char, _ in rows]), first.classes, str(layout_dir))
    writers = np.array([writer for _, _, writer in rows])
    for name in PICTURE_SETS:
        # a scan set pictures some of the records (relayout's SCAN_EVERY): those it holds
        held = np.array([(layout_dir / "pictures" / name / file).is_file() for file, _, _ in rows], bool)
        if not held.any():
            raise NetaError(f"{layout_dir / 'pictures' / name}: no picture of the records in labels.csv; "
                            "rerun `neta etl relayout`")
        files = [layout_dir / "pictures" / name / file for (file, _, _), h in zip(rows, held, strict=True) if h]
        images = _prepare_many(files, sizes, first.normalise, workers, known)
        inputs[f"pictures_{name}_predict"] = images, labels[held], writers[held]
    hands = read_writer_hands(layout_dir)
    out: dict[str, dict] = {}
    for model_name, loaded in models.items():
        out[model_name] = {}
        # a picture set whose model inputs are byte for byte a record layout's (g128 and ETL8G, b64 and
        # ETL8B2, as the normalisation intends) is scored once: the same inputs read the same
        scored_inputs: dict[bytes, dict] = {}
        for path_name, (images, index, writers) in inputs.items():
            model_inputs = _check_images(images[loaded.size], loaded.size, str(layout_dir))
            key = _digest(model_inputs, index)
            if key not in scored_inputs:
                scored_inputs[key] = _score(loaded, model_inputs, index, device)
            scored = scored_inputs[key]
            out[model_name][path_name] = _brief(scored["metrics"])
            if hands:
                out[model_name][path_name]["by_hand"] = _by_hand(scored["cnn_pred"] == index, writers, hands)
    return out


def _digest(*arrays: np.ndarray) -> bytes:
    """A digest of arrays' shapes, types and contents: equal digests, equal arrays."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


def _by_hand(right: np.ndarray, writers: np.ndarray, hands: Mapping[int, str]) -> dict[str, dict]:
    """Accuracy per hand (a synthetic writer's font, or its style family), hands in name order."""
    names = np.array([hands.get(int(w), "unknown") for w in writers])
    return {hand: {"n": int((names == hand).sum()), "accuracy": round(float(right[names == hand].mean()), 6)}
            for hand in sorted(set(names.tolist()))}


def evaluate_hiragana(
    model_path: str | os.PathLike,
    etl_path: str | os.PathLike,
    *,
    metrics_path: str | os.PathLike,
    confusion_path: str | os.PathLike,
    filters_path: str | os.PathLike,
    errors_path: str | os.PathLike,
    device: str,
    bn_cnn_path: str | os.PathLike | None = None,
    bn_cnn_etl_path: str | os.PathLike | None = None,
    heldout_path: str | os.PathLike | None = None,
    bn_cnn_heldout_path: str | os.PathLike | None = None,
    layouts: Mapping[str, str | os.PathLike] | None = None,
    workers: int = 1,
) -> dict:
    """Score the tutorial CNN and the baseline of ``model_path`` on the writer-disjoint test split of
    ``etl_path``; write metrics and figures.

    With ``bn_cnn_path`` (bn_cnn.pt) the metrics also hold ``bn_cnn``: the batch-normalised CNN on
    the same test sets and is the recognizer the app uses (``hiragana.model: bn_cnn``, the only
    setting that trains it), recorded as ``recognizer``; it reads the same records at its own size,
    from ``bn_cnn_etl_path`` and ``bn_cnn_heldout_path`` (``etl_path`` and ``heldout_path`` when it
    reads the tutorial CNN's size). With ``heldout_path`` (an ``etl_28.h5`` of held-out style
    families) the metrics also hold ``heldout_style`` (accuracy and most confused pairs of both
    models) and each model's ``heldout_style_accuracy`` beside its in-distribution ``accuracy``.
    ``layouts`` (a name such as "test" or "heldout_style" -> a ``neta etl relayout`` directory) adds
    ``layouts``: each writer set scored in every ETL layout through eval and as pictures through predict.
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    models = load_models(model_path, dev)
    test = load_etl_split(etl_path, "test")
    if test.classes != models.classes:
        raise NetaError(
            f"{etl_path}: its class table ({len(test.classes)} classes) differs from the one {model_path} "
            "was trained on; retrain the model on this file"
        )
    images = _check_images(test.images, models.size, str(etl_path))
    log.info("read %s: %d test images from %d writers", etl_path, len(images), len(np.unique(test.writers)))
    scored = _score(models, images, test.labels, dev)
    metrics = scored["metrics"]
    shared_writers = test.all_writers_by_split["train"] & test.all_writers_by_split["test"]
    if shared_writers:
        log.warning("%s: %d writers appear in both train and test splits", etl_path, len(shared_writers))
    metrics.update(
        {
            "recognizer": "cnn" if bn_cnn_path is None else "bn_cnn",
            "n_writers_test": int(np.unique(test.writers).size),
            "writer_disjoint": not shared_writers,
            "split": "test",
            "model": str(model_path),
            "etl": str(etl_path),
            "train_params": models.checkpoint.get("params", {}),
        }
    )
    bn_cnn = load_models(bn_cnn_path, dev) if bn_cnn_path is not None else None
    if bn_cnn is not None:
        if (bn_cnn.classes, bn_cnn.normalise) != (models.classes, models.normalise):
            raise NetaError(f"{bn_cnn_path}: its classes or normalisation differ from {model_path}'s; "
                            f"train both on records converted with the same hiragana settings")
        bn_etl_path = bn_cnn_etl_path if bn_cnn_etl_path is not None else etl_path
        bn_test = load_etl_split(bn_etl_path, "test")
        test_writers = sorted(set(test.writers.tolist()))
        if (bn_test.classes, sorted(set(bn_test.writers.tolist()))) != (test.classes, test_writers):
            raise NetaError(f"{bn_etl_path}: its classes or test writers differ from {etl_path}'s; convert both "
                            "from the same ETL files with the same hiragana.split and seed")
        bn_images = _check_images(bn_test.images, bn_cnn.size, str(bn_etl_path))
        bn_full = _score(bn_cnn, bn_images, bn_test.labels, dev)
        bn_scored = bn_full["metrics"]
        metrics["bn_cnn"] = {**bn_scored["cnn"], "most_confused": bn_scored["most_confused"],
                             "model": str(bn_cnn_path), "train_params": bn_cnn.checkpoint.get("params", {}),
                             "train_seconds": bn_cnn.checkpoint.get("train", {}).get("seconds")}
    if heldout_path is not None:
        heldout = score_heldout_styles(models, heldout_path, dev)
        metrics["heldout_style"] = heldout
        for name in ("cnn", "baseline"):
            metrics[name]["heldout_style_accuracy"] = heldout[name]["accuracy"]
        if bn_cnn is not None:
            bn_heldout = score_heldout_styles(
                bn_cnn, bn_cnn_heldout_path if bn_cnn_heldout_path is not None else heldout_path, dev)["cnn"]
            heldout["bn_cnn"] = bn_heldout
            metrics["bn_cnn"]["heldout_style_accuracy"] = bn_heldout["accuracy"]
        log.info(
            "held-out styles (%s): CNN %.4f, baseline %.4f%s on %d images of %d writers",
            heldout_path, heldout["cnn"]["accuracy"], heldout["baseline"]["accuracy"],
            f", BN-CNN {heldout['bn_cnn']['accuracy']:.4f}" if bn_cnn is not None else "",
            heldout["n_images"], heldout["n_writers"],
        )
    if layouts:
        # the models loaded above, each writer set's records and pictures prepared once for both
        loaded = {"cnn": models, **({"bn_cnn": bn_cnn} if bn_cnn is not None else {})}
        scored_layouts = {name: score_layouts(loaded, path, device=dev, workers=workers)
                          for name, path in layouts.items()}
        metrics["layouts"] = {name: found["cnn"] for name, found in scored_layouts.items()}
        if bn_cnn is not None:
            metrics["bn_cnn"]["layouts"] = {name: found["bn_cnn"] for name, found in scored_layouts.items()}
        for name, found in scored_layouts.items():
            for network, by_path in found.items():
                log.info("layouts of %s, %s: %s", name, network,
                         ", ".join(f"{path} {s['accuracy']:.4f}" for path, s in by_path.items()))
    write_json(metrics_path, metrics)

    classes = models.classes
    # the confusion matrix and the errors are the recognizer's, the one the app and predict use; the
    # filters stay the tutorial CNN's 5x5 ones, the original's figure
    shown, shown_metrics, who, shown_images, shown_labels = (
        (bn_full, metrics["bn_cnn"], "batch-normalised CNN", bn_images, bn_test.labels) if bn_cnn is not None
        else (scored, metrics["cnn"], "tutorial CNN", images, test.labels))
    title = (
        f"{who}: test accuracy {shown_metrics['accuracy']:.2%} "
        f"({metrics['n_test']} samples, {metrics['n_writers_test']} unseen writers)"
    )
    save_figure(confusion_figure(shown["confusion"], classes, title), confusion_path)

    wrong = np.flatnonzero(shown["cnn_pred"] != shown_labels)[:MAX_ERRORS_SHOWN]
    save_figure(
        errors_figure(
            shown_images[wrong],
            [classes[i] for i in shown_labels[wrong]],
            [classes[i] for i in shown["cnn_pred"][wrong]],
            f"{who}: misclassified test samples (true→predicted), first {len(wrong)} of "
            f"{metrics['n_test'] - shown_metrics['n_correct']}",
        ),
        errors_path,
    )

    # The first correctly classified test sample, so the activations show a character the net reads.
    right = np.flatnonzero(scored["cnn_pred"] == test.labels)
    pick = int(right[0]) if right.size else 0
    filters, activations = models.cnn.first_layer(to_float_batch(images[pick : pick + 1]).to(dev))
    save_figure(
        filters_figure(
            filters.numpy(),
            activations.numpy(),
            images[pick],
            f"first-layer filters and activations for 「{classes[test.labels[pick]]}」",
        ),
        filters_path,
    )
    log.info(
        "CNN %.4f, baseline %.4f on %d test images; wrote %s, %s, %s, %s in %.1f s",
        metrics["cnn"]["accuracy"], metrics["baseline"]["accuracy"], metrics["n_test"],
        metrics_path, confusion_path, errors_path, filters_path, time.perf_counter() - started,
    )
    return metrics
