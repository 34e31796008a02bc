"""The features stage's config section as a frozen dataclass, built once from the validated settings."""

from __future__ import annotations

from dataclasses import dataclass

from neta.settings import ConfigSection


@dataclass(frozen=True)
class FeatureSettings(ConfigSection):
    """``features``: the backbone and layer, how the images are batched and run, how the vectors are
    stored, how many shard jobs, and the share of images that may fail to decode. Checked by the config
    schema (workflow/schemas/config.schema.yaml), fields in its order."""

    KEY = "features"
    backbone: str
    layer: str
    batch_size: int
    workers: int
    backend: str
    dtype: str
    shards: int
    max_failure_ratio: float
