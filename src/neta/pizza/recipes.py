"""A pizza menu's ingredient texts -> recipes: a ``slots`` x (V+1) one-hot matrix a pizza.

As in the original (a Keras CVAE conditioned on the recipe: 9 slots x 29 classes), each pizza's
ingredients fill the slots in menu order, a double portion takes two slots, and the slots left over
hold class 0, the empty slot. How a text becomes ingredient names is in :mod:`neta.pizza.ingredients`.

``recipes.json``::

    {
      "slots": 9,
      "vocabulary": ["", "ананас", "базилик", ...],      # index 0 = "" (the empty slot), then sorted names
      "aliases": {"сыр моцарелла": "моцарелла"},        # the alias table applied (keys/values cleaned)
      "pizzas": [                                       # sorted by pizza_id
        {"pizza_id": "double-pepperoni", "name": "Двойная пепперони",
         "ingredients": ["томатный соус", "пепперони", "пепперони", "моцарелла"],
         "slots": [23, 15, 15, 12, 0, 0, 0, 0, 0],      # vocabulary indices, padded with 0
         "dropped": ["..."]},                           # only with truncate: what did not fit
        ...
      ],
      "custom": [{"pizza_id": "...", "name": "..."}],   # build-your-own items: listed, never encoded
      "skipped": [{"pizza_id": "...", "name": "...", "reason": "..."}]   # e.g. no ingredient text
    }

The vocabulary holds the names of encoded recipes only, so every class is seen in training.
Skipped items are logged and listed rather than stopping the stage, so one bad menu row loses
nothing else; the stage fails, writing nothing, when more than ``max_failure_ratio`` of the recipe
items (all but the build-your-own ones) were skipped. A recipe longer than ``slots`` is an
error naming the pizza, unless ``truncate`` keeps its first ``slots`` ingredients (logged).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neta.atomic import write_json
from neta.errors import NetaError
from neta.pizza.config import RecipeSettings
from neta.pizza.ingredients import clean_aliases, normalise_ingredients
from neta.pizza.lemmas import PhraseLemmatiser
from neta.pizza.menu import is_custom
from neta.pizza.recipes_check import EMPTY, check_recipes
from neta.tables import read_table

log = logging.getLogger(__name__)

MENU_COLUMNS = ("pizza_id", "name", "ingredients", "custom")
REWRITE = "rerun the encode_recipes stage (`neta pizza recipes`), which writes it"


class MenuItem(NamedTuple):
    pizza_id: str
    name: str
    ingredients: str  # the menu's text, e.g. "Томатный соус, двойная порция пепперони"
    custom: bool  # a build-your-own card: no fixed recipe


def _too_long_error(long: list[tuple[MenuItem, list[str]]], slots: int) -> NetaError:
    listed = "; ".join(f"{item.name!r} ({item.pizza_id}): {len(names)}: {', '.join(names)}" for item, names in long)
    return NetaError(
        f"{len(long)} recipe(s) longer than pizza.recipes.slots = {slots}: {listed}. Raise pizza.recipes.slots, "
        f"merge names with pizza.recipes.aliases, or set pizza.recipes.truncate: true to keep the first {slots}"
    )


def _skip_reason(item: MenuItem, names: list[str], seen: set[str]) -> str | None:
    if not item.pizza_id:
        return "no pizza_id"
    if item.pizza_id in seen:
        return "repeats an earlier item's pizza_id"
    if item.custom or names:
        return None
    if not item.ingredients.strip():
        return "no ingredient text"
    return f"no ingredient left after normalising {item.ingredients!r}"


def _normalised_menu(items: list[MenuItem], lemmatiser: PhraseLemmatiser, aliases: dict[str, str]):
    """(recipes as (item, names), custom entries, skipped entries), each sorted by pizza_id."""
    recipes, custom, skipped, seen = [], [], [], set()
    for item in sorted(items, key=lambda item: item.pizza_id):  # stable: the first of a repeated id wins
        entry = {"pizza_id": item.pizza_id, "name": item.name}
        names = [] if item.custom else normalise_ingredients(item.ingredients, lemmatiser=lemmatiser, aliases=aliases)
        reason = _skip_reason(item, names, seen)
        seen.add(item.pizza_id)
        if reason:
            log.warning("skipped menu item %r (%s): %s", item.name, item.pizza_id, reason)
            skipped.append({**entry, "reason": reason})
        elif item.custom:
            custom.append(entry)
        else:
            recipes.append((item, names))
    return recipes, custom, skipped


def build_recipes(menu: Iterable[tuple[str, str, str, bool]], *, slots: int, aliases: Mapping[str, str],
                  truncate: bool) -> dict:
    """The recipes object (module docstring) of menu items ``(pizza_id, name, ingredients_text, custom)``."""
    aliases = clean_aliases(aliases)
    recipes, custom, skipped = _normalised_menu([MenuItem(*item) for item in menu], PhraseLemmatiser(), aliases)
    long = [(item, names) for item, names in recipes if len(names) > slots]
    if long and not truncate:
        raise _too_long_error(long, slots)
    for item, names in long:
        log.warning("truncated the recipe of %r (%s) to %d slots, dropping %s", item.name, item.pizza_id, slots,
                    ", ".join(names[slots:]))
    vocabulary = [EMPTY, *sorted({name for _, names in recipes for name in names[:slots]})]
    index = {name: i for i, name in enumerate(vocabulary)}
    pizzas = []
    for item, names in recipes:
        kept = names[:slots]
        pizza = {"pizza_id": item.pizza_id, "name": item.name, "ingredients": kept,
                 "slots": [index[name] for name in kept] + [0] * (slots - len(kept))}
        if len(names) > slots:
            pizza["dropped"] = names[slots:]
        pizzas.append(pizza)
    return {"slots": slots, "vocabulary": vocabulary, "aliases": aliases, "pizzas": pizzas, "custom": custom,
            "skipped": skipped}


def one_hot(slots_indices, n_classes: int) -> np.ndarray:
    """Class indices of any shape -> uint8 one-hot of that shape + (n_classes,); (slots,) -> (slots, n_classes)."""
    indices = np.asarray(slots_indices)
    if indices.size and (not np.issubdtype(indices.dtype, np.integer) or indices.min() < 0
                         or indices.max() >= n_classes):
        raise ValueError(f"class indices must be integers in 0..{n_classes - 1}, got {indices.tolist()}")
    return np.eye(n_classes, dtype=np.uint8)[indices.astype(np.intp)]


def recipe_matrices(recipes: dict, pizza_ids: Iterable[str]) -> np.ndarray:
    """(N, slots, V+1) uint8 one-hot recipes of the given pizzas, in the given order."""
    by_id = {pizza["pizza_id"]: pizza["slots"] for pizza in recipes["pizzas"]}
    pizza_ids = list(pizza_ids)
    missing = [pizza_id for pizza_id in pizza_ids if pizza_id not in by_id]
    if missing:
        raise NetaError(f"no recipe for {', '.join(missing)}: not among the encoded pizzas of recipes.json "
                        "(build-your-own and skipped items have none)")
    indices = np.array([by_id[pizza_id] for pizza_id in pizza_ids], dtype=np.intp).reshape(-1, recipes["slots"])
    return one_hot(indices, len(recipes["vocabulary"]))


def read_recipes(path: str | Path) -> dict:
    """A ``recipes.json``, checked; NetaError naming the file and key on bad input."""
    try:
        recipes = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetaError(f"{path}: cannot read as JSON ({exc}); {REWRITE}") from exc
    check_recipes(recipes, source=str(path), fix=REWRITE)
    return recipes


def write_recipes(path: str | Path, recipes: dict) -> None:
    """Check, then write atomically (a killed job leaves no half file)."""
    check_recipes(recipes, source=str(path), fix="not written: the recipes object is malformed")
    write_json(path, recipes)


def _check_skipped(recipes: dict, max_failure_ratio: float, out_json) -> None:
    """Stop before writing when more than ``max_failure_ratio`` of the recipe items were skipped."""
    skipped = recipes["skipped"]
    total = len(recipes["pizzas"]) + len(skipped)
    ratio = len(skipped) / total if total else 1.0  # a menu without one recipe is a failed stage
    if ratio > max_failure_ratio:
        listed = "; ".join(f"{s['name']!r} ({s['pizza_id']}): {s['reason']}" for s in skipped[:10])
        raise NetaError(f"{len(skipped)} of {total} menu items skipped ({ratio:.0%} > pizza.max_failure_ratio "
                        f"{max_failure_ratio:.0%}); {out_json} not written. {listed}")


def encode_recipes(menu_csv: str | Path, out_json: str | Path, *, settings: RecipeSettings,
                   max_failure_ratio: float) -> dict:
    """The stage: ``menu.csv`` (columns pizza_id, name, ingredients, custom) -> ``recipes.json``; a summary.
    ``settings``: pizza.recipes (slots, truncate, aliases)."""
    started = time.perf_counter()
    menu = read_table(menu_csv, MENU_COLUMNS, "the scrape stage (`neta scrape dodo`)")
    items = zip(menu["pizza_id"].str.strip(), menu["name"].str.strip(), menu["ingredients"],
                (bool(custom) for custom in is_custom(menu)), strict=True)
    try:
        recipes = build_recipes(items, slots=settings.slots, aliases=settings.aliases, truncate=settings.truncate)
        _check_skipped(recipes, max_failure_ratio, out_json)
    except NetaError as exc:
        raise NetaError(f"{menu_csv}: {exc}") from None
    write_recipes(out_json, recipes)
    custom, skipped = len(recipes["custom"]), len(recipes["skipped"])
    summary = {
        "menu": str(menu_csv), "out": str(out_json), "items": len(menu), "pizzas": len(recipes["pizzas"]),
        "custom": custom, "skipped": skipped, "truncated": sum("dropped" in pizza for pizza in recipes["pizzas"]),
        "slots": settings.slots, "vocabulary_size": len(recipes["vocabulary"]) - 1,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("read %d menu items from %s, wrote %s: %d recipes over %d ingredients, %d custom, %d skipped "
             "in %.1f s", summary["items"], menu_csv, out_json, summary["pizzas"], summary["vocabulary_size"],
             custom, skipped, summary["seconds"])
    return summary
