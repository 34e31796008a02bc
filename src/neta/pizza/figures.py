"""The pizza evaluation's image grids, drawn with Pillow at exact pixel sizes and written atomically.

Every grid has the same geometry (:func:`grid_size`): a band of row labels on the left, a band of
column labels (turned 90 degrees) on top, and tiles of ``SCALE`` times the image side separated by
``GAP`` pixels. Labels use DejaVu Sans from matplotlib's own data directory (Cyrillic, proportional),
read by path so nothing touches matplotlib's global state.

- ``reconstructions.png``: one held-out image a pizza, then each CVAE's reconstruction of it (through
  the mean of the code, no noise).
- ``style_transfer.png``: a few pizzas encoded with their own recipe, decoded with every recipe.
- ``one_ingredient.png``: the plain base, then each other ingredient added to it, from every recipe-conditioned model,
  the same noise down a column so only the ingredient changes.
- ``gan_samples.png``: the GAN-trained models' samples for each recipe.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from neta.atomic import atomic_path
from neta.pizza.dataset import to_uint8

SCALE = 2  # a 32x32 image drawn at 64x64 so its ingredients can be told apart
GAP = 2
LABEL_WIDTH = 170
HEADER_HEIGHT = 100
FONT_SIZE = 11
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), FONT_SIZE)


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def grid_size(rows: int, columns: int, image_size: int) -> tuple[int, int]:
    """(width, height) in pixels of a grid of ``rows`` x ``columns`` tiles of ``image_size`` images."""
    tile = image_size * SCALE + GAP
    return LABEL_WIDTH + columns * tile + GAP, HEADER_HEIGHT + rows * tile + GAP


def tile_grid(cells: list[list[np.ndarray | None]], *, row_labels: list[str], column_labels: list[str],
              image_size: int) -> Image.Image:
    """Cells (rows of uint8 (3, S, S) images, None for a blank tile) with their labels -> one RGB image."""
    rows, columns = len(cells), len(column_labels)
    if len(row_labels) != rows or any(len(row) != columns for row in cells):
        raise ValueError(f"{rows} rows of cells for {len(row_labels)} row labels and {columns} column labels")
    width, height = grid_size(rows, columns, image_size)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw, font = ImageDraw.Draw(canvas), _font()
    tile = image_size * SCALE
    for c, label in enumerate(column_labels):
        text = _fit(label, font, HEADER_HEIGHT - 6)
        strip = Image.new("RGB", (HEADER_HEIGHT - 4, FONT_SIZE + 4), BACKGROUND)
        ImageDraw.Draw(strip).text((0, 0), text, fill=TEXT, font=font)
        turned = strip.rotate(90, expand=True)  # reads bottom to top, ending at the tile below it
        x = LABEL_WIDTH + GAP + c * (tile + GAP) + (tile - turned.width) // 2
        canvas.paste(turned, (x, 2))
    for r, (label, row) in enumerate(zip(row_labels, cells, strict=True)):
        y = HEADER_HEIGHT + GAP + r * (tile + GAP)
        draw.text((4, y + tile // 2), _fit(label, font, LABEL_WIDTH - 8), fill=TEXT, font=font, anchor="lm")
        for c, image in enumerate(row):
            if image is None:
                continue
            if image.shape != (3, image_size, image_size) or image.dtype != np.uint8:
                raise ValueError(f"cell ({r}, {c}): expected uint8 (3, {image_size}, {image_size}), got "
                                 f"{image.dtype} {image.shape}")
            picture = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0))).resize((tile, tile),
                                                                                           Image.NEAREST)
            canvas.paste(picture, (LABEL_WIDTH + GAP + c * (tile + GAP), y))
    return canvas


def note_image(text: str) -> Image.Image:
    """A small image saying why a grid is empty (the output file must exist either way)."""
    font = _font()
    canvas = Image.new("RGB", (int(font.getlength(text)) + 20, FONT_SIZE + 20), BACKGROUND)
    ImageDraw.Draw(canvas).text((10, 10), text, fill=TEXT, font=font)
    return canvas


def save_png(image: Image.Image, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def _as_float(recipes: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(recipes), dtype=torch.float32, device=device)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def reconstructions_grid(cvaes: dict[str, torch.nn.Module], images: np.ndarray, recipes: np.ndarray,
                         labels: list[str]) -> Image.Image:
    """One row a pizza: its held-out image (uint8 (P, 3, S, S)), then each CVAE's reconstruction."""
    columns = [to_uint8(model.generate(_float_images(images, _device(model)), _as_float(recipes, _device(model))))
               for model in cvaes.values()]
    cells = [[images[p], *(column[p] for column in columns)] for p in range(len(images))]
    return tile_grid(cells, row_labels=labels, column_labels=["held-out image", *cvaes], image_size=images.shape[-1])


def _float_images(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).float() / 255.0


@torch.no_grad()
def style_transfer_grid(cvaes: dict[str, torch.nn.Module], images: np.ndarray, recipes: np.ndarray,
                        labels: list[str], *, sources: int) -> Image.Image:
    """For each CVAE and each of ``sources`` pizzas (spread over the list): the image, then its code (the
    mean, encoded with its own recipe) decoded with every pizza's recipe; the diagonal is the reconstruction."""
    picks = np.unique(np.linspace(0, len(images) - 1, min(sources, len(images))).round().astype(int))
    cells, row_labels = [], []
    for name, model in cvaes.items():
        device = _device(model)
        all_recipes = _as_float(recipes, device)
        for p in picks:
            mu, _ = model.encode(_float_images(images[p : p + 1], device), all_recipes[p : p + 1])
            decoded = to_uint8(model.decode(mu.expand(len(recipes), -1), all_recipes))
            cells.append([images[p], *decoded])
            row_labels.append(f"{name}: {labels[p]}")
    return tile_grid(cells, row_labels=row_labels, column_labels=["input", *(f"→ {label}" for label in labels)],
                     image_size=images.shape[-1])


def base_ingredients(recipes: dict) -> list[int]:
    """Vocabulary indices of the plain base: the ingredients on more than half of the pizzas of
    ``recipes`` (a recipes.json object), e.g. mozzarella and tomato sauce."""
    counts = np.zeros(len(recipes["vocabulary"]), dtype=int)
    for pizza in recipes["pizzas"]:
        counts[sorted({i for i in pizza["slots"] if i})] += 1
    return [int(i) for i in np.flatnonzero(counts * 2 > len(recipes["pizzas"])) if i]


@torch.no_grad()
def one_ingredient_grid(models: dict[str, torch.nn.Module], ingredients: list[str], *, base: list[int], slots: int,
                        seed: int, image_size: int) -> Image.Image:
    """One row the plain base (vocabulary indices ``base``), then one row each other ingredient added to it
    (vocabulary order, the empty class left out); one column a model.

    The noise is re-seeded for every row, so a column differs only by the recipe: what an ingredient adds
    is what its row shows over the first.
    """
    classes = len(ingredients) + 1
    extras = [i for i in range(1, classes) if i not in base] if len(base) < slots else []
    rows = [list(base), *([*base, extra] for extra in extras)]
    labels = [" + ".join(ingredients[i - 1] for i in base) or "(nothing)",
              *(f"+ {ingredients[extra - 1]}" for extra in extras)]
    cells: list[list[np.ndarray | None]] = [[] for _ in rows]
    for model in models.values():
        device = _device(model)
        for r, indices in enumerate(rows):
            recipe = np.zeros((1, slots, classes), dtype=np.float32)
            recipe[0, :, 0] = 1.0
            for slot, index in enumerate(indices):
                recipe[0, slot, 0], recipe[0, slot, index] = 0.0, 1.0
            generator = torch.Generator(device=device).manual_seed(seed)
            cells[r].append(to_uint8(model.sample(_as_float(recipe, device), generator=generator))[0])
    return tile_grid(cells, row_labels=labels, column_labels=list(models), image_size=image_size)


def samples_grid(samples: dict[str, np.ndarray], labels: list[str], *, per_model: int) -> Image.Image:
    """One row a recipe; ``per_model`` columns of each model's samples (uint8 (P, k, 3, S, S) each)."""
    first = next(iter(samples.values()))
    take = min(per_model, first.shape[1])
    cells = [[images[p, j] for images in samples.values() for j in range(take)] for p in range(len(labels))]
    columns = [f"{name} #{j + 1}" for name in samples for j in range(take)]
    return tile_grid(cells, row_labels=labels, column_labels=columns, image_size=first.shape[-1])
