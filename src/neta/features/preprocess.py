"""The weights' own ``transforms()`` in two halves: geometry in the DataLoader workers, arithmetic in the model.

torchvision's ``ImageClassification`` preset resizes, centre-crops, converts to float in 0..1 and
normalises. The workers run the first two on each image and send the crop as uint8; the module runs
the last two, with the same torchvision functions and the preset's own sizes, interpolation, mean and
std, on the whole batch. The vectors are the same (a test compares them with the preset on PIL
images); the workers send a quarter of the bytes, the main process does one batched operation
instead of one per image, and on CUDA the normalisation runs on the GPU.
"""

from __future__ import annotations

import torch
from PIL import Image
from torch import nn
from torchvision.transforms import functional as F
from torchvision.transforms._presets import ImageClassification


class ResizeCrop:
    """Resize and centre crop as the preset does, then a (3, crop, crop) uint8 tensor."""

    def __init__(self, preset: ImageClassification):
        self.preset = preset

    def __call__(self, image: Image.Image) -> torch.Tensor:
        preset = self.preset
        image = F.resize(image, preset.resize_size, interpolation=preset.interpolation, antialias=preset.antialias)
        return F.pil_to_tensor(F.center_crop(image, preset.crop_size)).contiguous()


class Normalise(nn.Module):
    """uint8 batches -> float in 0..1 -> (x - mean) / std, as the preset does to one image.

    The subtraction and division are F.normalize's own; F.normalize itself checks ``std`` for zeros
    with a branch on tensor values, which ``torch.export`` (the ONNX exporter) cannot trace.
    """

    def __init__(self, preset: ImageClassification):
        super().__init__()
        self.register_buffer("mean", torch.tensor(preset.mean, dtype=torch.float).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(preset.std, dtype=torch.float).view(-1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (F.convert_image_dtype(images, torch.float) - self.mean) / self.std
