"""The captioner's config sections as frozen dataclasses, built once from the validated settings.

A command builds the ones it reads with ``Section.of(read_settings(args))``; the values were checked by
the config schema (workflow/schemas/config.schema.yaml), which also holds their defaults. Fields are in
the schema's order.
"""

from __future__ import annotations

from dataclasses import dataclass

from neta.settings import ConfigSection


@dataclass(frozen=True)
class CocoSettings(ConfigSection):
    """dataset coco: the caption annotation files and the folder their file_names are in ("" for none)."""

    KEY = "captioner.coco"
    annotations: tuple[str, ...]
    images: str


@dataclass(frozen=True)
class KarpathySettings(ConfigSection):
    """dataset karpathy: Karpathy's dataset_coco.json and its image folder ("" for none)."""

    KEY = "captioner.karpathy"
    file: str
    images: str


@dataclass(frozen=True)
class OogiriGoSettings(ConfigSection):
    """dataset oogiri_go: an Oogiri-GO JSON-lines file, its image folder ("" for none), the games read
    (I2T, IT2T) and the fewest stars an answer needs."""

    KEY = "captioner.oogiri_go"
    file: str
    images: str
    types: tuple[str, ...]
    min_star: int


@dataclass(frozen=True)
class SplitSettings(ConfigSection):
    """The fractions of photos held out for validation and test."""

    KEY = "captioner.split"
    val_fraction: float
    test_fraction: float


@dataclass(frozen=True)
class VocabSettings(ConfigSection):
    """The word vocabulary: words seen fewer than ``min_count`` times are <unk>; longer captions dropped."""

    KEY = "captioner.vocab"
    min_count: int
    max_len: int


@dataclass(frozen=True)
class ModelSettings(ConfigSection):
    """Show and Tell's sizes and image input (the :class:`~neta.boke.model.ShowAndTell` keywords but the
    feature and vocabulary sizes, which come from the data)."""

    KEY = "captioner.model"
    embed_size: int
    hidden_size: int
    layers: int
    dropout: float
    image_input: str


@dataclass(frozen=True)
class TrainSettings(ConfigSection):
    """Teacher-forced training: epochs at most, batch size, Adam's learning rate, clipping, patience, what
    selects the epoch kept, and the epochs always trained."""

    KEY = "captioner.train"
    epochs: int
    batch_size: int
    lr: float
    clip: float
    patience: int
    select: str
    min_epochs: int


@dataclass(frozen=True)
class DecodeSettings(ConfigSection):
    """Beam search: beam width, captions reported a photo, most words a caption, length normalisation,
    no stutter, complete captions first (:mod:`neta.boke.decode`)."""

    KEY = "captioner.decode"
    beam: int
    top: int
    max_len: int
    length_norm: bool
    no_repeat: bool
    prefer_complete: bool


@dataclass(frozen=True)
class SamplingSettings(ConfigSection):
    """The sampling decoder: captions drawn a photo, top-k, nucleus top-p, temperature."""

    KEY = "captioner.sampling"
    samples: int
    top_k: int
    top_p: float
    temperature: float
