"""Scanner levels: 0..1 ink intensity to 4-bit levels with the writer's ink and a bank of paper noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neta.hiragana.etl.synth.styles import WriterStyle


@dataclass(frozen=True)
class PaperNoise:
    """A bank of scanner-noise images, drawn once per synthesis and picked at random per sample."""

    jitter: np.ndarray  # (B, H, W) int8 level offsets, mostly 0 and +-1
    speck_rank: np.ndarray  # (B, H, W) uint8 uniform; a speck where rank < writer's noise * 256
    speck_level: np.ndarray  # (B, H, W) int8 1..4


def paper_noise(rng: np.random.Generator, bank: int = 256) -> PaperNoise:
    shape = (bank, 127, 128)
    return PaperNoise(
        jitter=np.rint(rng.normal(0.0, 0.35, shape)).astype(np.int8),
        speck_rank=rng.integers(0, 256, shape, dtype=np.uint8),
        speck_level=rng.integers(1, 5, shape, dtype=np.int8),
    )


def to_levels(intensity: np.ndarray, style: WriterStyle, rng: np.random.Generator, noise: PaperNoise) -> np.ndarray:
    """0..1 ink intensity -> 4-bit scanner levels with the writer's ink and paper noise."""
    pick = rng.integers(0, noise.jitter.shape[0], intensity.shape[0])
    levels = np.rint(intensity * style.ink).astype(np.int8)
    levels += noise.jitter[pick]
    specks = noise.speck_rank[pick] < int(style.noise * 256)
    levels += np.where(specks, noise.speck_level[pick], np.int8(0))
    return np.clip(levels, 0, 15).astype(np.uint8)
