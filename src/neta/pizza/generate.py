"""``neta pizza generate``: pizzas drawn by a trained generator for a recipe typed as text.

The text goes through the same normalisation, lemmas and aliases as the menu's ingredient lists
(:mod:`neta.pizza.ingredients`), so ``"пепперони, моцареллы"`` and ``"двойная порция пепперони"``
mean what they mean on the menu. The names fill the recipe's slots in the order given; the rest are
the empty class, as in ``recipes.json``.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from neta.atomic import atomic_path
from neta.device import resolve_device
from neta.errors import NetaError
from neta.images import save_format
from neta.pizza.checkpoint import load_pizza_model
from neta.pizza.dataset import to_uint8
from neta.pizza.ingredients import clean_aliases, normalise_ingredients
from neta.pizza.lemmas import PhraseLemmatiser
from neta.pizza.recipes import one_hot, read_recipes

log = logging.getLogger(__name__)

SCALE = 4  # a 32x32 pizza written at 128x128
GAP = 4
MAX_COLUMNS = 8


def parse_ingredients(text: str, recipes: dict) -> list[int]:
    """A comma-separated ingredient list -> vocabulary indices of ``recipes`` (a recipes.json object), in order.

    Unknown names and more than ``recipes["slots"]`` ingredients are NetaErrors saying what is known.
    """
    names = normalise_ingredients(text, lemmatiser=PhraseLemmatiser(), aliases=clean_aliases(recipes["aliases"]))
    if not names:
        raise NetaError(f"--ingredients {text!r}: no ingredient named; give a comma-separated list of: "
                        f"{', '.join(recipes['vocabulary'][1:])}")
    return ingredient_indices(names, recipes, what="--ingredients")


def ingredient_indices(names: list[str], recipes: dict, *, what: str = "ingredients") -> list[int]:
    """Ingredient names exactly as in ``recipes["vocabulary"]`` -> their indices, in order (a name given
    twice is a double portion). Unknown names and more than ``recipes["slots"]`` are NetaErrors."""
    known = recipes["vocabulary"][1:]
    index = {name: i for i, name in enumerate(recipes["vocabulary"]) if i}
    unknown = [name for name in dict.fromkeys(names) if name not in index]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {' or '.join(close)}?)" if close else ""))
        raise NetaError(f"{what}: unknown ingredient(s) {', '.join(hints)}; the known ingredients are "
                        f"({len(known)}): {', '.join(known)}")
    if len(names) > recipes["slots"]:
        raise NetaError(f"{what}: {len(names)} ingredients ({', '.join(names)}), a recipe has "
                        f"{recipes['slots']} slots; name at most {recipes['slots']} (a double portion takes two)")
    return [index[name] for name in names]


def _grid(images: np.ndarray) -> Image.Image:
    """uint8 (B, 3, S, S) -> one image, up to MAX_COLUMNS a row."""
    count, size = len(images), images.shape[-1] * SCALE
    columns = min(count, MAX_COLUMNS)
    rows = math.ceil(count / columns)
    canvas = Image.new("RGB", (GAP + columns * (size + GAP), GAP + rows * (size + GAP)), (255, 255, 255))
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        tile = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0))).resize((size, size), Image.NEAREST)
        canvas.paste(tile, (GAP + c * (size + GAP), GAP + r * (size + GAP)))
    return canvas


class PizzaGenerator:
    """A pizza generator checkpoint and the recipes.json it was trained with, loaded once.

    ``kind`` is the model's (cvae_a, cvae_b, cvae_original, gan, cvae_gan); an unconditioned GAN (``conditioned``
    false) ignores the recipe. Not thread-safe: a caller that shares one between threads holds a lock
    around :meth:`sample`.
    """

    def __init__(self, model_path: str | os.PathLike, recipes_json: str | os.PathLike, *, device: str) -> None:
        self.model_path = model_path
        self.device = resolve_device(device)
        # The model first: recipes.json is looked for beside it by default, so a broken or misplaced model
        # read second would be reported as a missing recipes.json.
        self.model, self.info = load_pizza_model(model_path, device=self.device)
        if not Path(recipes_json).is_file():
            raise NetaError(f"{recipes_json}: no such file; {model_path} needs the recipes.json of the run that "
                            "trained it (`neta pizza generate --recipes PATH`)")
        self.recipes = read_recipes(recipes_json)
        if (list(self.info["vocabulary"]) != list(self.recipes["vocabulary"])
                or int(self.info["slots"]) != int(self.recipes["slots"])):
            raise NetaError(f"{model_path}: trained on another ingredient vocabulary than {recipes_json}; give the "
                            "recipes.json of the run that trained it")
        self.kind = self.info["kind"]
        self.conditioned = bool(getattr(self.model, "conditioned", True))

    def sample(self, indices: list[int], *, count: int, seed: int) -> np.ndarray:
        """``count`` pizzas of the recipe with these vocabulary indices: uint8 ``(count, 3, S, S)``, seeded."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise NetaError(f"count: expected an integer >= 1, got {count!r}")
        slots = list(indices) + [0] * (self.recipes["slots"] - len(indices))
        recipe = one_hot(np.array([slots] * count), len(self.recipes["vocabulary"]))
        generator = torch.Generator(device=self.device).manual_seed(seed)
        with torch.no_grad():
            return to_uint8(self.model.sample(torch.as_tensor(recipe, dtype=torch.float32, device=self.device),
                                              generator=generator))

    def grid(self, indices: list[int], *, count: int, seed: int) -> Image.Image:
        """The pizzas of :meth:`sample` as one image, up to MAX_COLUMNS a row, each scaled up SCALE times."""
        return _grid(self.sample(indices, count=count, seed=seed))


def generate_pizza(model_path: str | os.PathLike, ingredients: str, recipes_json: str | os.PathLike,
                   out: str | os.PathLike, *, count: int, seed: int, device: str) -> dict:
    """Draw ``count`` pizzas for ``ingredients`` with the generator at ``model_path``; write them as one grid
    in the format of ``out``'s suffix (.png, .jpg, .webp: :func:`neta.images.save_format`)."""
    started = time.perf_counter()
    fmt = save_format(out)  # before the model is loaded
    pizzas = PizzaGenerator(model_path, recipes_json, device=device)
    indices = parse_ingredients(ingredients, pizzas.recipes)
    if not pizzas.conditioned:
        log.warning("%s is an unconditioned GAN: it ignores the recipe, these are just pizzas", model_path)
    images = pizzas.sample(indices, count=count, seed=seed)
    with atomic_path(out) as tmp:
        # the upscaled pixels' sharp edges are what a lossy default quality smears first
        _grid(images).save(tmp, format=fmt, **({} if fmt == "PNG" else {"quality": 95}))
    names = [pizzas.recipes["vocabulary"][i] for i in indices]
    log.info("wrote %s: %d pizzas with %s from %s (%s) in %.1f s", out, count, ", ".join(names), model_path,
             pizzas.kind, time.perf_counter() - started)
    return {"out": str(out), "model": str(model_path), "kind": pizzas.kind, "conditioned": pizzas.conditioned,
            "ingredients": names, "indices": indices, "count": count, "seed": seed, "image_size": images.shape[-1]}
