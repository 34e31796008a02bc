"""Decoding and preprocessing in DataLoader workers, batch by batch, in input order.

A worker reads the file once, hashes those bytes (the id is the content's sha256, so a file changed
since it was listed is caught), decodes them with Pillow to RGB and resizes and crops them as the
weights' transforms do, to a uint8 crop (the module normalises the batch: :mod:`neta.features.preprocess`).
Whatever goes wrong with one file comes back as a marker naming it, never as an exception: an
exception in a worker would stop the whole loader.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset


@dataclass
class Decoded:
    index: int
    image: torch.Tensor | None  # None: the file could not be used, see ``error``
    sha256: str = ""
    error: str = ""


@dataclass
class Batch:
    indices: list[int]  # positions in the input of the rows of ``images``
    images: torch.Tensor | None  # (n, 3, H, W) uint8 crops; None when every file of the batch failed
    hashes: dict[int, str] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, why)

    def __len__(self) -> int:
        return len(self.indices) + len(self.failures)

    def pin_memory(self) -> Batch:  # DataLoader(pin_memory=True) calls this on custom batches
        if self.images is not None:
            self.images = self.images.pin_memory()
        return self


class ImageFiles(Dataset):
    def __init__(self, items: Sequence[tuple[str, Path]], transforms: Callable):
        self.items = list(items)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Decoded:
        image_id, path = self.items[index]
        try:
            data = Path(path).read_bytes()
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 != image_id:
                return Decoded(index, None, sha256, f"content sha256 {sha256} is not the listed {image_id}")
            with Image.open(io.BytesIO(data)) as image:
                return Decoded(index, self.transforms(image.convert("RGB")), sha256)
        except UnidentifiedImageError:  # its message names the in-memory buffer, not the file
            return Decoded(index, None, "", f"not an image Pillow can read ({len(data)} bytes)")
        except Exception as exc:  # whatever one file does wrong is that file's failure, reported, not fatal
            return Decoded(index, None, "", f"{type(exc).__name__}: {exc}")


def collate(samples: list[Decoded]) -> Batch:
    good = [s for s in samples if s.image is not None]
    return Batch(
        indices=[s.index for s in good],
        images=torch.stack([s.image for s in good]) if good else None,
        hashes={s.index: s.sha256 for s in good},
        failures=[(s.index, s.error) for s in samples if s.image is None],
    )


def batches(items: Sequence[tuple[str, Path]], transforms: Callable, *, batch_size: int, workers: int,
            pin_memory: bool) -> DataLoader:
    """Batches of ``batch_size`` consecutive items (the last may be short), decoded by ``workers`` processes."""
    return DataLoader(ImageFiles(items, transforms), batch_size=batch_size, shuffle=False, num_workers=workers,
                      collate_fn=collate, pin_memory=pin_memory)
