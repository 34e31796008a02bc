"""The weights' own ``transforms()`` in two halves: geometry in the DataLoader workers, arithmetic in the model.

torchvision's ``ImageClassification`` preset resizes, centre-crops, converts to float in 0..1 and
normalises. The loader runs the first two on each image, in one Pillow call (:class:`ResizeCrop`), and
keeps the crop as uint8; the module runs the last two, with the same torchvision functions and the
preset's own sizes, interpolation, mean and std, on the whole batch. The vectors are the preset's
to a cosine of ~1 (a test compares them with a plain torchvision forward pass on PIL images); the
loader moves a quarter of the bytes, the batch is normalised in one operation instead of one an
image, and on CUDA the normalisation runs on the GPU.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import functional as F
from torchvision.transforms._presets import ImageClassification


class ResizeCrop:
    """Resize and centre crop as the preset does, then a (3, crop, crop) uint8 tensor.

    Pillow resamples only the source box the crop keeps, straight to the crop's size: the preset's
    resize would compute the whole resized image and throw its margins away. The box is the crop
    mapped back through the same scale, so each kept pixel has the same filter centre and support;
    only Pillow's rounding differs: in a portrait photo (the crop offset vertical) up to ~20 % of the
    values move by one grey level, a few at sharp edges with bicubic, and the vectors keep a cosine
    of ~1 to the preset's (tests hold every backbone's preset to that). It takes ~2/3 of the time.
    """

    def __init__(self, preset: ImageClassification):
        self.preset = preset
        self.resample = F.pil_modes_mapping[preset.interpolation]
        self.crop_h, self.crop_w = (preset.crop_size * 2)[:2]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        width, height = image.size
        resized_h, resized_w = F._compute_resized_output_size((height, width), list(self.preset.resize_size))
        if resized_h < self.crop_h or resized_w < self.crop_w:  # the preset would pad: its own way, exactly
            image = F.resize(image, self.preset.resize_size, interpolation=self.preset.interpolation,
                             antialias=self.preset.antialias)
            return F.pil_to_tensor(F.center_crop(image, self.preset.crop_size)).contiguous()
        # F.center_crop's offsets in the resized image, mapped back to the source
        top, left = int(round((resized_h - self.crop_h) / 2.0)), int(round((resized_w - self.crop_w) / 2.0))
        scale_x, scale_y = width / resized_w, height / resized_h
        box = (left * scale_x, top * scale_y, (left + self.crop_w) * scale_x, (top + self.crop_h) * scale_y)
        crop = image.resize((self.crop_w, self.crop_h), self.resample, box=box)
        return torch.from_numpy(np.array(crop, dtype=np.uint8)).permute(2, 0, 1).contiguous()


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
