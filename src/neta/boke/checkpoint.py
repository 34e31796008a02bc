"""captioner.pt: the one place the Show-and-Tell checkpoint is written and read.

``torch.save`` of one dict of tensors and plain Python values (str, int, float, bool, None, lists,
dicts with str keys), so ``torch.load(path, weights_only=True)`` opens it without unpickling code.

================  =================================================================================
``format``        ``"neta-captioner"``, and ``format_version``: tell this file from any other .pt
``arch``          the :class:`~neta.boke.model.ShowAndTell` constructor keywords
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

import torch

from neta import __version__
from neta.atomic import atomic_path
from neta.boke.model import ShowAndTell
from neta.errors import NetaError
from neta.torch_files import load_tagged_checkpoint, plain_values

FORMAT, FORMAT_VERSION = "neta-captioner", 1
INFO_KEYS = ("model_config", "vocab", "features", "settings", "history")


def save_captioner(path: str | os.PathLike, model: ShowAndTell, *, model_config: dict, vocab: dict, features: dict,
                   settings: dict, history: list) -> None:
    """Write ``model`` and what is needed to use and trace it to ``path`` atomically."""
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": dict(model.arch),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        **{key: plain_values(value, key) for key, value in (("model_config", model_config), ("vocab", vocab),
                                                       ("features", features), ("settings", settings),
                                                       ("history", history))},
        "neta_version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def read_captioner(path: str | os.PathLike) -> dict:
    """The checkpoint dict at ``path``, or a NetaError naming the file and the fix."""
    path = Path(path)
    checkpoint = load_tagged_checkpoint(path, what="captioner checkpoint",
                                        how_to_make="train one with the train_captioner rule first",
                                        tag=(FORMAT, FORMAT_VERSION), expected_file="a captioner.pt")
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
