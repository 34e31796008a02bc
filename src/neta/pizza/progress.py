"""What a pizza model's training leaves to look at: the loss plot and the ``progress.gif`` of sample grids.

A grid has one row a pizza: its real held-out view, the model's reconstruction of it (models with an
encoder), then samples for its recipe from noise that is the same in every frame, so the frames
show the same draws sharpening epoch by epoch. Figures go through matplotlib's Agg canvas (never
pyplot) and every file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from neta.atomic import atomic_path

MAX_ROWS = 24  # pizzas shown in a frame at most
HEADER = 16  # pixels of the caption strip above each grid
FRAME_MS, LAST_FRAME_MS = 600, 2000


def _tiles(images: torch.Tensor) -> np.ndarray:
    """float ``(B, 3, S, S)`` in [0, 1] -> uint8 ``(B, S, S, 3)``."""
    return (images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


@torch.no_grad()
def sample_grid(model: torch.nn.Module, images: torch.Tensor, recipes: torch.Tensor, *, samples: int, seed: int,
                reconstruct: bool) -> np.ndarray:
    """uint8 ``(rows*S, cols*S, 3)``: a row a recipe, [real, reconstruction, ``samples`` draws].

    The noise comes from a CPU generator seeded with ``seed`` here, so every call draws the same noise
    and the global random streams of training are left alone. The model is used in eval mode.
    """
    was_training = model.training
    model.eval()
    try:
        generator = torch.Generator().manual_seed(seed)
        columns = [_tiles(images)]
        if reconstruct:
            columns.append(_tiles(model.generate(images, recipes)))
        columns += [_tiles(model.sample(recipes, generator=generator)) for _ in range(samples)]
    finally:
        model.train(was_training)
    return np.concatenate([np.concatenate(list(column), axis=0) for column in columns], axis=1)


def frame(grid: np.ndarray, caption: str, *, scale: int) -> Image.Image:
    """The grid enlarged ``scale`` times (nearest) under a caption strip (a GIF holds about 100 kB a
    frame of 400 x 500 pixels, so a default run's 32-pixel images are shown at their own size)."""
    body = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.Resampling.NEAREST)
    image = Image.new("RGB", (body.width, body.height + HEADER), (255, 255, 255))
    image.paste(body, (0, HEADER))
    ImageDraw.Draw(image).text((3, 2), caption, fill=(0, 0, 0), font=ImageFont.load_default())
    return image


def write_gif(frames: list[Image.Image], path: str | os.PathLike) -> None:
    """An endlessly looping GIF, the last frame held longer."""
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)


def plot_losses(history: list[dict], png_path: str | os.PathLike, *, title: str, kept_epoch: int | None) -> None:
    """One panel a loss term, training (and validation, ``val_<term>``, when logged) against the epoch."""
    terms = [key for key in history[0] if key not in ("epoch", "seconds") and not key.startswith("val_")]
    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(3.2 * len(terms), 3.2))
    FigureCanvasAgg(fig)
    for i, term in enumerate(terms):
        ax = fig.add_subplot(1, len(terms), i + 1)
        ax.plot(epochs, [row[term] for row in history], marker="o", label="train")
        if f"val_{term}" in history[0]:
            ax.plot(epochs, [row[f"val_{term}"] for row in history], marker="o", label="held-out angles")
        if kept_epoch is not None:
            ax.axvline(kept_epoch, color="grey", linestyle=":", label=f"kept: epoch {kept_epoch}")
        ax.set_title(term)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        # no Software/date metadata: the same history gives the same bytes
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
