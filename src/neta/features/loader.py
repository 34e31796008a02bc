"""Decoding and preprocessing, batch by batch, in input order: two ways to spread it over the cores.

* :func:`batches`: DataLoader worker processes decode; the main process runs the model on their
  batches. For torch: its model wants the one CUDA context, or all the main process's CPU threads.
* :func:`inferred_batches`: for onnxruntime on the CPU, ``workers`` threads of the main process each
  take a whole batch, decode it and run the model on it (one shared session, a share of the threads
  each: onnxruntime runs concurrent calls). Pillow, hashlib and onnxruntime release the GIL, so the
  threads run side by side with no process start-up and nothing sent between processes. On 2 cores
  this ran ~1.25x the images/s of decoding workers feeding one 2-thread model, which lost time to the
  two fighting over the cores (benchmarks/features.py).

A worker reads the file once, hashes those bytes (the id is the content's sha256, so a file changed
since it was listed is caught), decodes them with Pillow to RGB and resizes and crops them as the
weights' transforms do, to a uint8 crop (the module normalises the batch: :mod:`neta.features.preprocess`).
Whatever goes wrong with one file comes back as a marker naming it, never as an exception: an
exception in a worker would stop the whole loader.
"""

from __future__ import annotations

import hashlib
import io
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
    images: torch.Tensor | None  # (n, 3, H, W) uint8 crops; None when every file failed or once inferred
    hashes: dict[int, str] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, why)
    features: np.ndarray | None = None  # (n, D) vectors of the decoded images, from inferred_batches

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
                image.load()
                # convert() copies even an RGB image; most photos are RGB already
                return Decoded(index, self.transforms(image if image.mode == "RGB" else image.convert("RGB")),
                               sha256)
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
            pin_memory: bool) -> Iterator[Batch]:
    """Batches of ``batch_size`` consecutive items (the last may be short), decoded by ``workers`` processes."""
    yield from DataLoader(ImageFiles(items, transforms), batch_size=batch_size, shuffle=False, num_workers=workers,
                          collate_fn=collate, pin_memory=pin_memory)


def inferred_batches(items: Sequence[tuple[str, Path]], transforms: Callable,
                     engine: Callable[[torch.Tensor], np.ndarray], *, batch_size: int, workers: int) -> Iterator[Batch]:
    """The batches of :func:`batches` with ``features`` filled in, each decoded and inferred by one of ``workers``
    threads; at most two batches a thread are in flight, and closing the iterator cancels the rest."""
    files = ImageFiles(items, transforms)

    def infer(start: int) -> Batch:
        batch = collate([files[i] for i in range(start, min(start + batch_size, len(files)))])
        if batch.images is not None:
            batch.features, batch.images = engine(batch.images), None
        return batch

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="features")
    in_flight = deque()
    try:
        for start in range(0, len(files), batch_size):
            in_flight.append(pool.submit(infer, start))
            if len(in_flight) >= 2 * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
