"""Device, thread and seed set-up shared by every training and inference stage."""

from __future__ import annotations

import random

import numpy as np


def resolve_device(name: str = "auto"):
    """``auto`` takes CUDA when present, else the CPU; anything else is passed to torch."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from neta.errors import NetaError

    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise NetaError(f"device: unknown device {name!r} (use auto, cpu or cuda[:N])") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NetaError(f"device: {name!r} asked for but no CUDA device is present (use auto or cpu)")
    return device


def set_threads(n: int) -> None:
    """Honour the rule's ``threads:`` so two jobs on a 2-core machine don't oversubscribe it."""
    import torch

    torch.set_num_threads(max(1, int(n)))


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware: a CUDA GPU that supports it, or a CPU with AVX-512
    BF16 or AMX. Elsewhere bfloat16 is emulated, and slower than float32."""
    import torch

    if device.type == "cuda":
        # by default torch also says yes for GPUs that only emulate it (before Ampere)
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        # private in torch 2.x, so each is asked for only if it is there
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(name: str, device):
    """The dtype a training step's forward passes run in: None (float32) or ``torch.bfloat16``.

    ``auto`` takes bfloat16 where :func:`native_bf16`, else float32; ``bf16`` asks for it anywhere."""
    import torch

    from neta.errors import NetaError

    if name not in PRECISIONS:
        raise NetaError(f"precision: unknown precision {name!r} (use {', '.join(PRECISIONS)})")
    if name == "bf16" or (name == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


class ForwardPrecision:
    """Runs a training step's forward passes at the resolved precision (:func:`resolve_precision`).

    At bfloat16 the convolutions and matrix products run under ``torch.autocast``, with float32 weights
    and optimiser; the outputs come back as float32, so every loss is summed in float32."""

    def __init__(self, dtype, device) -> None:
        self.dtype, self.device_type = dtype, device.type

    @property
    def name(self) -> str:
        """``bf16`` or ``fp32``, as a checkpoint records it."""
        return "fp32" if self.dtype is None else "bf16"

    def __call__(self, forward, *args, **kwargs):
        """``forward(*args, **kwargs)``, a tensor or a tuple of tensors, returned in float32."""
        import torch

        if self.dtype is None:
            return forward(*args, **kwargs)
        with torch.autocast(self.device_type, dtype=self.dtype):
            out = forward(*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(t.float() for t in out)
        return out.float()
