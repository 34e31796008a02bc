"""captioner.pt: the one place the Show-and-Tell checkpoint is written and read.

``torch.save`` of one dict of tensors and plain Python values (str, int, float, bool, None, lists,
dicts with str keys), so ``torch.load(path, weights_only=True)`` opens it without unpickling code.

================  =================================================================================
``format``        ``"neta-captioner"``, and ``format_version``: tell this file from any other .pt
``arch``          the :class:`~neta.models.captioner.ShowAndTell` constructor keywords
``state_dict``    the weights, CPU tensors
``model_config``  the model settings as configured (provenance)
``vocab``         the vocabulary as JSON (``Vocabulary.to_json()``)
``features``      what the features were made with: backbone, layer, weights sha256, ...
``settings``      the training settings and facts of the run
``history``       one dict an epoch: epoch, train_loss, val_loss, seconds
``neta_version``  the neta version that wrote the file
================  =================================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from neta import __version__
from neta.atomic import atomic_path
from neta.errors import NetaError
from neta.models.captioner import ShowAndTell
from neta.models.torch_files import load_checkpoint_file

FORMAT, FORMAT_VERSION = "neta-captioner", 1
INFO_KEYS = ("model_config", "vocab", "features", "settings", "history")


def _plain(value, where: str):
    """``value`` as tensors and plain Python values only (numpy scalars and arrays converted)."""
    if isinstance(value, torch.Tensor) or value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{where}: keys must be strings, got {bad[:3]}")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: {type(value).__name__} cannot go into a weights-only checkpoint")


def save_captioner(path: str | os.PathLike, model: ShowAndTell, *, model_config: dict, vocab: dict, features: dict,
                   settings: dict, history: list) -> None:
    """Write ``model`` and what is needed to use and trace it to ``path`` atomically."""
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": dict(model.arch),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        **{key: _plain(value, key) for key, value in (("model_config", model_config), ("vocab", vocab),
                                                       ("features", features), ("settings", settings),
                                                       ("history", history))},
        "neta_version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def read_captioner(path: str | os.PathLike) -> dict:
    """The checkpoint dict at ``path``, or a NetaError naming the file and the fix."""
    path = Path(path)
    checkpoint = load_checkpoint_file(path, what="captioner checkpoint",
                                      how_to_make="train one with the train_captioner rule first")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise NetaError(f"{path}: not a neta captioner checkpoint (no format {FORMAT!r}); point at a captioner.pt")
    if checkpoint.get("format_version") != FORMAT_VERSION:
        raise NetaError(f"{path}: captioner checkpoint version {checkpoint.get('format_version')!r}, this neta reads "
                        f"{FORMAT_VERSION}; retrain")
    missing = [k for k in ("arch", "state_dict", *INFO_KEYS) if k not in checkpoint]
    if missing:
        raise NetaError(f"{path}: captioner checkpoint lacks {missing}; retrain")
    return checkpoint


def load_captioner(path: str | os.PathLike, *, device) -> tuple[ShowAndTell, dict]:
    """The model at ``path`` on ``device`` in eval mode, and its ``model_config, vocab, features, settings,
    history`` (plus ``arch`` and ``neta_version``)."""
    checkpoint = read_captioner(path)
    try:
        model = ShowAndTell(**checkpoint["arch"])
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise NetaError(f"{path}: weights do not match the stored architecture ({exc}); retrain") from exc
    model.to(device).eval()
    info = {k: checkpoint[k] for k in (*INFO_KEYS, "arch", "neta_version") if k in checkpoint}
    return model, info
