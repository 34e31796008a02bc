"""What runs the backbone on a batch: eager torch (CPU or CUDA) or onnxruntime on the CPU.

``auto`` takes torch where CUDA is present, else onnxruntime: on the 2-core CPU, MobileNetV2 ran at
~240 images/s in onnxruntime against 65-110 in eager torch (by batch size), and the whole stage at
~175-190 against ~55-85 (benchmarks/features.py).
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime
import torch
from torch import nn

from neta.device import resolve_device
from neta.errors import NetaError
from neta.features.backbones import ExtractorInfo
from neta.features.onnx_export import INPUT, OUTPUT, onnx_session

BACKENDS = ("auto", "torch", "onnx")
# Compute precision on CUDA (autocast) and stored precision (features.dtype); the CPU always computes in float32,
# its half-precision kernels being slower. bfloat16 is stored as float32, which holds it exactly (HDF5 has no bfloat16).
_AUTOCAST = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_backend(backend: str, device: str) -> tuple[str, torch.device]:
    """(torch or onnx, the device it runs on) for the configured backend (one of ``BACKENDS``) and device."""
    resolved = resolve_device(device)
    if backend == "auto":
        backend = "torch" if resolved.type == "cuda" else "onnx"
    if backend == "onnx" and resolved.type != "cpu":
        if device != "auto":
            raise NetaError(f"features.backend onnx runs on the CPU (onnxruntime); device {device!r} needs "
                            "backend torch or auto")
        resolved = torch.device("cpu")
    return backend, resolved


class TorchEngine:
    """Eager torch in inference mode, channels-last (faster convolutions on CPU and CUDA alike)."""

    workers = 0  # called by the main process only: DataLoader workers decode for it

    def __init__(self, module: nn.Module, *, device: torch.device, dtype: str):
        self.device = device
        self.module = module.to(device, memory_format=torch.channels_last)
        self.autocast = _AUTOCAST.get(dtype) if device.type == "cuda" else None

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        images = images.to(self.device, non_blocking=True, memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.autocast,
                                                    enabled=self.autocast is not None):
            return self.module(images).float().cpu().numpy()


class OnnxEngine:
    """onnxruntime; ``workers`` > 0: that many threads call it side by side (see neta.features.loader)."""

    def __init__(self, session: onnxruntime.InferenceSession, *, workers: int = 0):
        self.session = session
        self.workers = workers

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        return self.session.run([OUTPUT], {INPUT: images.numpy()})[0]


def make_engine(backend: str, module: nn.Module, info: ExtractorInfo, *, device: torch.device, dtype: str,
                threads: int, workers: int, onnx_dir: str | os.PathLike | None) -> TorchEngine | OnnxEngine:
    """The engine; onnx with ``workers`` > 0 is called by that many threads, each with its share of ``threads``."""
    if backend == "torch":
        return TorchEngine(module, device=device, dtype=dtype)
    if onnx_dir is None:
        raise NetaError("features.backend onnx needs a folder for the exported model (--onnx-dir)")
    per_call = max(1, threads // workers) if workers else threads
    return OnnxEngine(onnx_session(module, info, onnx_dir, threads=per_call), workers=workers)
