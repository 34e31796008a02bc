"""The hiragana recognizer's checkpoints (model.pt, bn_cnn.pt): the one place they are written and read.

The file is ``torch.save`` of one dict holding plain tensors, numbers, strings, lists and dicts
only, nothing else pickled, so ``torch.load(path, weights_only=True)`` opens it safely. Its keys,
in file order:

=======================  ===============================================================================
``network``              which recognizer ``cnn_state_dict`` holds (:data:`NETWORKS`); files written
                         before it existed hold the tutorial CNN
``cnn_state_dict``       the recognizer's weights (:class:`~neta.hiragana.model.HiraganaCNN` in model.pt,
                         :class:`~neta.hiragana.model.BatchNormCNN` in bn_cnn.pt), CPU tensors
``baseline_state_dict``  model.pt only: :class:`~neta.hiragana.model.SoftmaxRegression` weights
``arch``                 ``{"cnn": {...}, "baseline": {...}}``: the constructor keywords of each model
``classes``              the characters, in label order
``size``                 side of the square input images
``normalise``            how an ETL record was turned into an input (:data:`~neta.hiragana.normalise.NORMALISATIONS`)
``params``               the training parameters (the stage's config values, device, threads, optimisers)
``history``              CNN training curve: ``step``, ``loss``, ``accuracy``, ``lr``, ``keep_prob`` lists
``baseline_history``     the same for the baseline (model.pt only)
``train``                facts of the run: images, writers, train accuracies, seconds, input sha256
``neta_version``         the neta version that wrote the file
=======================  ===============================================================================

:data:`REQUIRED_KEYS` are what :func:`load_models` needs; the rest is provenance.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from neta import __version__
from neta.atomic import atomic_path
from neta.errors import NetaError
from neta.hiragana.model import BatchNormCNN, HiraganaCNN, SoftmaxRegression
from neta.torch_files import load_checkpoint_file

# hiragana.model's values -> the class of the recognizer a checkpoint holds
NETWORKS: dict[str, type[torch.nn.Module]] = {"cnn": HiraganaCNN, "bn_cnn": BatchNormCNN}
REQUIRED_KEYS = ("cnn_state_dict", "arch", "classes", "size")


@dataclass
class LoadedModels:
    cnn: torch.nn.Module  # the recognizer: NETWORKS[network]
    baseline: SoftmaxRegression | None  # model.pt's softmax baseline; bn_cnn.pt has none
    network: str
    classes: list[str]
    size: int
    checkpoint: dict
    normalise: str  # checkpoints written before hiragana.normalise existed: "cell"


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def save_checkpoint(
    path: str | os.PathLike,
    *,
    network: str,
    cnn: torch.nn.Module,
    baseline: SoftmaxRegression | None,
    classes: Sequence[str],
    size: int,
    normalise: str,
    params: Mapping,
    history: Mapping,
    baseline_history: Mapping | None,
    train: Mapping,
) -> dict:
    """Write the recognizer (and the baseline, if given) with their metadata to ``path`` atomically;
    return the dict written."""
    if not isinstance(cnn, NETWORKS[network]):
        raise TypeError(f"network {network!r} holds a {NETWORKS[network].__name__}, got {type(cnn).__name__}")
    checkpoint: dict = {"network": network, "cnn_state_dict": _cpu_state(cnn)}
    arch = {"cnn": dict(cnn.arch)}
    if baseline is not None:
        checkpoint["baseline_state_dict"] = _cpu_state(baseline)
        arch["baseline"] = dict(baseline.arch)
    checkpoint.update({
        "arch": arch,
        "classes": list(classes),
        "size": int(size),
        "normalise": str(normalise),
        "params": params,
        "history": history,
    })
    if baseline_history is not None:
        checkpoint["baseline_history"] = baseline_history
    checkpoint.update({"train": train, "neta_version": __version__})
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return checkpoint


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict at ``path``, or a NetaError naming the file and the fix."""
    path = Path(path)
    checkpoint = load_checkpoint_file(path, what="hiragana checkpoint", how_to_make="run `neta hiragana train` first")
    missing = [k for k in REQUIRED_KEYS if not isinstance(checkpoint, dict) or k not in checkpoint]
    if missing:
        raise NetaError(
            f"{path}: not a hiragana checkpoint (missing {missing}); retrain with `neta hiragana train`"
        )
    return checkpoint


def model_classes(path: str | os.PathLike) -> list[str]:
    """The characters the model at ``path`` was trained on, in label order."""
    return list(read_checkpoint(path)["classes"])


def load_models(path: str | os.PathLike, device: torch.device | str = "cpu") -> LoadedModels:
    """The recognizer (and model.pt's baseline) of the checkpoint at ``path`` on ``device``, in eval mode."""
    checkpoint = read_checkpoint(path)
    arch = checkpoint["arch"]
    network = str(checkpoint.get("network", "cnn"))
    if network not in NETWORKS:
        raise NetaError(f"{path}: holds a {network!r} recognizer, which this neta does not know "
                        f"(known: {', '.join(NETWORKS)}); retrain")
    try:
        cnn = NETWORKS[network](**arch["cnn"])
        cnn.load_state_dict(checkpoint["cnn_state_dict"])
        baseline = None
        if "baseline_state_dict" in checkpoint:
            baseline = SoftmaxRegression(**arch["baseline"])
            baseline.load_state_dict(checkpoint["baseline_state_dict"])
            baseline.to(device).eval()
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise NetaError(f"{path}: weights do not match the stored architecture ({exc}); retrain") from exc
    # channels-last, as the networks trained: their convolutions read a batch 1.3 (tutorial CNN) to 1.6
    # (BN-CNN) times faster so on a CPU, and the report reads some 30,000 characters
    cnn.to(device, memory_format=torch.channels_last).eval()
    return LoadedModels(cnn, baseline, network, list(checkpoint["classes"]), int(checkpoint["size"]), checkpoint,
                        str(checkpoint.get("normalise", "cell")))
