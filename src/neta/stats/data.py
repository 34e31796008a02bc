"""Statistics of the data the workflow crawled and converted: pure functions over explicit paths.

Each function reads the files a stage wrote (through the stage's own reader, so a missing or
malformed file is a :class:`~neta.errors.NetaError` naming it) and returns a JSON-able dict of
numbers; nothing here reads the config or writes a file.

Histograms are lists of rows, smallest first, holding only the values that occur:
``[[value, count], ...]``, or ``[[lo, hi, count], ...]`` for binned values (``lo <= x < hi``).
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pandas as pd

from neta.errors import NetaError

BOKES_MADE_BY = "the scrape stage (`neta scrape bokete`)"
MANIFEST_MADE_BY = "the download stage (`neta download <site>`)"


def _number(value) -> int | float:
    """A whole number as int, anything else as a float rounded to 4 decimals (JSON-friendly)."""
    value = float(value)
    return int(value) if value.is_integer() else round(value, 4)


def _counts(values) -> list[list[int]]:
    """``[[value, how often], ...]`` for the values that occur, smallest first."""
    return [[int(value), int(count)] for value, count in sorted(Counter(int(v) for v in values).items())]


def _summary(values, keys=("min", "median", "max")) -> dict:
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return {key: 0 for key in keys}
    found = {"min": array.min(), "median": np.median(array), "max": array.max()}
    return {key: _number(found[key]) for key in keys}


def star_bins(top: float) -> list[int]:
    """Bin edges 0, 1, 2, 5, 10, 20, 50, ... (a 1-2-5 series) up to the first edge above ``top``."""
    edges = [0, 1]
    step = 0
    while edges[-1] <= top:
        edges.append((1, 2, 5)[(step + 1) % 3] * 10 ** ((step + 1) // 3))
        step += 1
    return edges


def _star_histogram(stars: pd.Series) -> list[list[int]]:
    """``[[lo, hi, n_bokes], ...]`` over :func:`star_bins`, the bins between the lowest and highest star."""
    if stars.empty:
        return []
    edges = star_bins(float(stars.max()))
    counts, _ = np.histogram(stars.to_numpy(dtype=float), bins=np.asarray(edges, dtype=float))
    # np.histogram closes its last bin on the right; the top edge is above the maximum, so no star
    # sits on it and every bin is [lo, hi).
    rows = [[lo, hi, int(n)] for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)]
    first = next(i for i, row in enumerate(rows) if row[2])
    return rows[first:]


def bokete_statistics(bokes_csv: str | os.PathLike, captions_csv: str | os.PathLike,
                      vocab_json: str | os.PathLike) -> dict:
    """The bokete crawl (``bokes.csv``) and the caption data the captioner trained on.

    ``bokes``, ``photos``, ``bokes_per_photo`` and ``stars`` describe the crawl (a photo is an
    ``image_url``); ``caption_length`` (tokens a caption) and ``splits`` (photos a split) describe the
    caption table; ``vocabulary_size`` is the length of the model's vocabulary, its four special
    tokens ``<pad> <bos> <eos> <unk>`` included (as the training log counts it).
    """
    from neta.boke.sources.bokete import stars_of
    from neta.boke.table import SPLITS, read_captions, token_counts
    from neta.boke.vocab import Vocabulary
    from neta.tables import read_table

    bokes = read_table(bokes_csv, ("boke_id", "stars", "image_url"), BOKES_MADE_BY)
    stars = stars_of(bokes["stars"], str(bokes_csv), "stars")
    per_photo = bokes.groupby("image_url", sort=False).size()
    captions = read_captions(captions_csv)
    lengths = token_counts(captions)
    photos_in = captions.groupby("split")["image_id"].nunique()
    vocabulary = Vocabulary.load(vocab_json)
    return {
        "bokes": len(bokes),
        "photos": int(per_photo.size),
        "bokes_per_photo": {**_summary(per_photo), "histogram": _counts(per_photo)},
        "stars": {**_summary(stars, ("median", "max")), "histogram": _star_histogram(stars)},
        "vocabulary_size": len(vocabulary),
        "caption_length": {**_summary(lengths, ("median", "max")), "histogram": _counts(lengths)},
        "splits": {split: int(photos_in.get(split, 0)) for split in SPLITS},
    }


def pizza_statistics(menu_csv: str | os.PathLike, recipes_json: str | os.PathLike) -> dict:
    """The encoded pizzas of ``recipes.json`` (build-your-own and skipped menu items have no recipe).

    ``ingredients`` counts the pizzas each ingredient is on (a double portion counts once), most
    frequent first, ties by name; ``ingredients_per_pizza`` counts distinct ingredients;
    ``vocabulary_size`` is the number of ingredient names (without the empty slot class).
    The menu is read to check that every encoded pizza is on it.
    """
    from neta.pizza.menu import read_menu
    from neta.pizza.recipes import read_recipes

    menu = read_menu(menu_csv)
    recipes = read_recipes(recipes_json)
    pizzas = recipes["pizzas"]
    unknown = sorted({pizza["pizza_id"] for pizza in pizzas} - set(menu["pizza_id"].str.strip()))
    if unknown:
        raise NetaError(f"{recipes_json}: pizzas {', '.join(unknown[:5])} are not on the menu {menu_csv}; "
                        "rerun the encode_recipes stage (`neta pizza recipes`) on this menu")
    distinct = [sorted(set(pizza["ingredients"])) for pizza in pizzas]
    frequency = Counter(name for names in distinct for name in names)
    return {
        "pizzas": len(pizzas),
        "ingredients": [[name, n] for name, n in sorted(frequency.items(), key=lambda item: (-item[1], item[0]))],
        "vocabulary_size": len(recipes["vocabulary"]) - 1,
        "ingredients_per_pizza": _summary(len(names) for names in distinct),
    }


def etl_statistics(etl_h5: str | os.PathLike) -> dict:
    """``etl_28.h5`` of `neta etl convert`: classes, samples, writers, samples a class, the split."""
    from neta.h5io import read_h5

    data, _ = read_h5(etl_h5, ["classes", "labels", "writers", "split"])
    classes, labels, split = [str(c) for c in data["classes"]], data["labels"], data["split"]
    if not len(labels) == len(data["writers"]) == len(split):
        raise NetaError(f"{etl_h5}: /labels, /writers and /split differ in length; rerun convert_etl")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise NetaError(f"{etl_h5}: /labels outside 0..{len(classes) - 1}; rerun convert_etl")
    per_class = np.bincount(labels.astype(np.int64), minlength=len(classes))
    return {
        "classes": len(classes),
        "samples": int(len(labels)),
        "writers": int(len(np.unique(data["writers"]))),
        "per_class": [[char, int(n)] for char, n in zip(classes, per_class, strict=True)],
        "split": {"train": int((split == 0).sum()), "test": int((split == 1).sum())},
    }


def crawl_statistics(manifest_csv: str | os.PathLike) -> dict:
    """A download manifest (``images/manifest.csv``): images listed, how many of each status, bytes kept."""
    from neta.tables import read_table

    manifest = read_table(manifest_csv, ("url", "status", "bytes"), MANIFEST_MADE_BY)
    sizes = pd.to_numeric(manifest["bytes"].replace("", "0"), errors="coerce")
    if sizes.isna().any() or (sizes < 0).any():
        bad = manifest.loc[sizes.isna() | (sizes < 0), "bytes"].iloc[0]
        raise NetaError(f"{manifest_csv}: bytes {bad!r} is not a size; rerun {MANIFEST_MADE_BY}")
    return {
        "images": len(manifest),
        "by_status": {status: int(n) for status, n in sorted(Counter(manifest["status"]).items())},
        "bytes": int(sizes[manifest["status"] == "ok"].sum()),
    }
