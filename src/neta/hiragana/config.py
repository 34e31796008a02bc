"""The hiragana recognizer's config sections as frozen dataclasses, built once from the validated settings.

Each field is a key of the section in ``workflow/schemas/config.schema.yaml``, in the schema's order;
its default, range and description live there alone. (``hiragana.synth`` and ``hiragana.split`` have
no class: no command passes either section whole.)
"""

from __future__ import annotations

from dataclasses import dataclass

from neta.settings import ConfigSection

Schedule = tuple[tuple[float, float], ...]  # [[from_step, value], ...], see neta.hiragana.schedules


@dataclass(frozen=True)
class HiraganaTrain(ConfigSection):
    """The CNN's training: steps, batch size, learning-rate and dropout schedules, initialisation."""

    KEY = "hiragana.train"
    steps: int
    batch_size: int
    lr_schedule: Schedule
    keep_prob_schedule: Schedule
    init_std: float
    bias_init: float
    precision: str


@dataclass(frozen=True)
class HiraganaAugment(ConfigSection):
    """On-the-fly distortion of the CNN's training batches (see :mod:`neta.hiragana.augment`)."""

    KEY = "hiragana.augment"
    enabled: bool
    probability: float  # share of a batch's images that are augmented at all
    rotation_deg: float  # uniform in +-rotation_deg
    shear: float  # uniform in +-shear (x += shear * y)
    scale: float  # isotropic scale uniform in 1 +- scale
    aspect: float  # width/height ratio uniform in 1 +- aspect
    translate: float  # shift uniform in +-translate, fraction of the image side
    elastic_p: float  # probability of an elastic distortion
    elastic_px: float  # its displacement's standard deviation, pixels
    elastic_grid: int  # its control grid (grid x grid): coarser bends the whole character
    morph_p: float  # probability of a stroke-width change, half thicker, half thinner
    blur_p: float  # probability of a blur
    blur_sigma: float  # its largest Gaussian sigma, pixels
    ink_p: float  # probability of lighter ink
    ink_min: float  # darkest ink kept is 1, lightest ink_min
    noise_p: float  # probability of additive noise
    noise_std: float  # its largest standard deviation (images are 0..1)
    dust_p: float  # probability of one or two specks of dust in the outer band of the frame


@dataclass(frozen=True)
class HiraganaBaseline(ConfigSection):
    """The softmax-regression baseline's plain gradient descent."""

    KEY = "hiragana.baseline"
    steps: int
    lr: float
    batch_size: int


@dataclass(frozen=True)
class HiraganaBnCnn(ConfigSection):
    """The batch-normalised CNN (``hiragana.model: bn_cnn``): its widths and its AdamW one-cycle training."""

    KEY = "hiragana.bn_cnn"
    size: int  # side of the images it reads (its own converted file)
    stride: int  # the first convolution's
    widths: tuple[int, int, int]
    pool: int  # the last average pooling's grid side (1: global)
    dropout: float
    steps: int
    batch_size: int
    lr: float  # the one-cycle schedule's peak
    warmup: float  # share of the steps spent rising to the peak
    weight_decay: float
    label_smoothing: float
