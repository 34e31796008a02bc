"""The pizza system's config sections as frozen dataclasses, built once from the validated settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neta.pizza.kinds import GeneratorKind
from neta.settings import ConfigSection


@dataclass(frozen=True)
class RecipeSettings(ConfigSection):
    KEY = "pizza.recipes"
    slots: int
    truncate: bool
    aliases: Mapping[str, str]


@dataclass(frozen=True)
class AugmentSettings(ConfigSection):
    KEY = "pizza.augment"
    size: int
    angle_step: int
    flip: bool
    order: str
    top_view_x: int


@dataclass(frozen=True)
class TrainingSettings(ConfigSection):
    """One model's epochs, batch size and learning rate: pizza.models.{cvae,gan,cvae_gan,classifier}."""

    KEY = "pizza.models.cvae"  # the sections share one shape; give the key: TrainingSettings.of(s, key)
    epochs: int
    batch_size: int
    lr: float


# The pizza.models keys each family's network is built from, and the model keyword each one becomes. A
# family's rule passes only these, so a change to one family's architecture retrains that family only.
_COMPACT = {"latent": "latent", "width": "width", "recipe_embedding": "embedding", "pixel_sigma": "pixel_sigma"}
ARCHITECTURE_KEYS = {
    "cvae": _COMPACT,
    "cvae_original": {"original_latent": "latent", "original_dense": "dense"},
    "gan": {"gan_z": "z_dim", "gan_conditioned": "conditioned", "gan_width": "width"},
    "cvae_gan": {**_COMPACT, "adversarial_weight": "adversarial_weight", "discriminator_width": "discriminator_width"},
}


def architecture_of(kind: GeneratorKind, models: Mapping) -> dict:
    """The model keywords of ``kind`` from the ``pizza.models`` settings."""
    return {keyword: models[key] for key, keyword in ARCHITECTURE_KEYS[kind.section].items()}
