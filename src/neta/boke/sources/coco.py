"""COCO-style captions: the ``captions_*.json`` annotation files, and Karpathy's ``dataset_coco.json``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from neta.boke.sources.bokete import Tokenize, join_tokens
from neta.errors import NetaError
from neta.json_files import read_json_object

log = logging.getLogger(__name__)

KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "val", "test": "test"}


def _items(obj: dict, key: str, needs: tuple[str, ...], path, what: str) -> list[dict]:
    items = obj.get(key)
    if not isinstance(items, list):
        raise NetaError(f"{path}: no '{key}' list; is it {what}?")
    for index, item in enumerate(items):
        missing = [k for k in needs if not isinstance(item, dict) or k not in item]
        if missing:
            raise NetaError(f"{path}: {key}[{index}] has no {', '.join(missing)}; is it {what}?")
    return items


def _find(images: Path, names: list[str]) -> str:
    """The first of ``images/<name>`` that exists, else the first (reported missing later)."""
    candidates = [Path(os.path.abspath(images / name)) for name in names]
    return str(next((c for c in candidates if c.is_file()), candidates[0]))


def _text(value, path, where: str) -> str:
    if not isinstance(value, str):
        raise NetaError(f"{path}: {where} must be a string, got {value!r}")
    return value


def read_coco(annotations: Iterable[str | os.PathLike], images: str | os.PathLike, *, tokenize: Tokenize,
              max_images: int) -> tuple[pd.DataFrame, dict]:
    """Every caption of every annotation file, photo by photo in the files' image order.

    A ``file_name`` is looked for in ``images`` and in its subfolder named like the file's split
    (``captions_train2014.json`` -> ``train2014/``), the layout of the COCO downloads.
    """
    files = [Path(a) for a in annotations]
    if not files:
        raise NetaError("captioner.coco.annotations: no captions_*.json file given")
    images = Path(images)
    if not images.is_dir():
        raise NetaError(f"{images}: no such folder of COCO images (captioner.coco.images)")
    rows, counts = [], {"captions_read": 0}
    photos_taken = 0
    what = "a COCO captions_*.json file"
    for path in files:
        obj = read_json_object(path, what)
        listed = _items(obj, "images", ("id", "file_name"), path, what)
        notes = _items(obj, "annotations", ("image_id", "caption"), path, what)
        by_image: dict = {entry["id"]: [] for entry in listed}
        for index, note in enumerate(notes):
            if note["image_id"] not in by_image:
                raise NetaError(f"{path}: annotations[{index}] names image_id {note['image_id']!r}, not in images")
            by_image[note["image_id"]].append(_text(note["caption"], path, f"annotations[{index}].caption"))
        counts["captions_read"] += len(notes)
        subfolder = path.stem.removeprefix("captions_")
        for entry in listed:
            captions = by_image[entry["id"]]
            if not captions or (max_images and photos_taken >= max_images):
                continue
            photos_taken += 1
            name = _text(entry["file_name"], path, "images[].file_name")
            photo = _find(images, [name, f"{subfolder}/{name}"])
            url = entry.get("coco_url") or Path(photo).as_uri()
            rows += [{"photo": photo, "url": url, "caption": c, "tokens": join_tokens(tokenize(c)), "stars": 0,
                      "split": ""} for c in captions]
        log.info("%s: %d images, %d captions", path, len(listed), len(notes))
    if not rows:
        raise NetaError(f"{', '.join(map(str, files))}: no image with a caption")
    return pd.DataFrame(rows), counts


def read_karpathy(file: str | os.PathLike, images: str | os.PathLike, *, tokenize: Tokenize,
                  max_images: int) -> tuple[pd.DataFrame, dict]:
    """Karpathy's captions with his tokens as given (``tokenize(raw)`` only where a sentence has none)
    and his split (train and restval -> train); ``split`` is "" for every row when the file has none."""
    images = Path(images)
    if not images.is_dir():
        raise NetaError(f"{images}: no such folder of images (captioner.karpathy.images)")
    what = "Karpathy's dataset_coco.json"
    entries = _items(read_json_object(file, what), "images", ("filename", "sentences"), file, what)
    with_split = sum("split" in entry for entry in entries)
    if 0 < with_split < len(entries):
        raise NetaError(f"{file}: {with_split} of {len(entries)} images have a 'split'; give every image one or none")
    if max_images:
        entries = entries[:max_images]
    rows, counts = [], {"captions_read": 0}
    for index, entry in enumerate(entries):
        split = entry.get("split", "")
        if with_split and split not in KARPATHY_SPLITS:
            raise NetaError(f"{file}: images[{index}].split {split!r} is not one of {', '.join(KARPATHY_SPLITS)}")
        name = _text(entry["filename"], file, f"images[{index}].filename")
        folder = entry.get("filepath", "")
        photo = _find(images, [f"{folder}/{name}" if folder else name, name])
        sentences = entry["sentences"]
        if not isinstance(sentences, list):
            raise NetaError(f"{file}: images[{index}].sentences must be a list")
        counts["captions_read"] += len(sentences)
        for number, sentence in enumerate(sentences):
            where = f"images[{index}].sentences[{number}]"
            if not isinstance(sentence, dict) or "raw" not in sentence:
                raise NetaError(f"{file}: {where} has no 'raw'")
            raw = _text(sentence["raw"], file, f"{where}.raw")
            tokens = sentence.get("tokens")
            if tokens is None:
                tokens = tokenize(raw)
            elif not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
                raise NetaError(f"{file}: {where}.tokens must be a list of strings")
            rows.append({"photo": photo, "url": Path(photo).as_uri(), "caption": raw, "tokens": join_tokens(tokens),
                         "stars": 0, "split": KARPATHY_SPLITS.get(split, "")})
    log.info("%s: %d images, %d captions%s", file, len(entries), counts["captions_read"],
             ", Karpathy's split" if with_split else ", no split in the file")
    if not rows:
        raise NetaError(f"{file}: no image with a sentence")
    return pd.DataFrame(rows), counts
