"""The pizza generators' checkpoints (``cvae_a.pt``, ``cvae_b.pt``, ``cvae_original.pt``, ``gan.pt``, ``cvae_gan.pt``).

``torch.save`` of one dict of tensors and plain values, read with ``weights_only=True``:

==================  ===========================================================================
``format``          ``"neta-pizza-generator"``, and ``format_version``
``kind``            one of :data:`neta.pizza.kinds.KINDS`
``arch``            the model class's constructor keywords (``model.arch``)
``state_dict``      the weights (generator and discriminator), CPU tensors
``vocabulary``      recipes.json's vocabulary: index 0 the empty slot, then ingredient names
``slots``           recipe slots
``history``         one dict an epoch, the columns of the training CSV
``settings``        the training settings and facts of the run
``neta_version``    the neta version that wrote the file
==================  ===========================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from neta import __version__
from neta.atomic import atomic_path
from neta.errors import NetaError
from neta.pizza.kinds import GENERATOR_KINDS, KINDS, generator_kind
from neta.pizza.models import FAMILY_CLASSES
from neta.torch_files import load_tagged_checkpoint, plain_values

FORMAT, FORMAT_VERSION = "neta-pizza-generator", 1
INFO_KEYS = ("kind", "arch", "vocabulary", "slots", "history", "settings")
RETRAIN = "retrain it with the train_cvae / train_cvae_original / train_gan / train_cvae_gan rule"
CHECKPOINTS = ", ".join(kind.checkpoint for kind in GENERATOR_KINDS)


def save_pizza_model(path: str | os.PathLike, model: nn.Module, *, kind: str, arch: dict, vocabulary: list[str],
                     slots: int, history: list[dict], settings: dict) -> None:
    """Write ``model`` with what rebuilds and explains it to ``path`` atomically."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "arch": plain_values(dict(arch), "arch"),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "vocabulary": [str(v) for v in vocabulary],
        "slots": int(slots),
        "history": plain_values(list(history), "history"),
        "settings": plain_values(dict(settings), "settings"),
        "neta_version": __version__,
    }
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def load_pizza_model(path: str | os.PathLike, *, device) -> tuple[nn.Module, dict]:
    """(model on ``device`` in eval mode, ``{kind, arch, vocabulary, slots, history, settings}``)."""
    path = Path(path)
    checkpoint = load_tagged_checkpoint(path, what="pizza generator checkpoint", how_to_make=RETRAIN,
                                        tag=(FORMAT, FORMAT_VERSION),
                                        expected_file=f"one of {CHECKPOINTS}")
    kind = checkpoint.get("kind")
    if kind not in KINDS:
        raise NetaError(f"{path}: unknown model kind {kind!r}; {RETRAIN}")
    try:
        model = FAMILY_CLASSES[generator_kind(kind).section](**checkpoint["arch"])
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise NetaError(f"{path}: weights do not match the stored architecture ({exc}); {RETRAIN}") from exc
    info = {key: checkpoint.get(key) for key in INFO_KEYS}
    return model.to(device).eval(), info
