"""What the Boke page offers: the photos of the caption table with a downloaded file, their real bokes,
and the training run's feature vectors of them."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import numpy as np

from neta.boke.table import SPLITS, read_captions
from neta.features.inputs import images_from

IMAGE_ID = re.compile(r"[0-9a-f]{64}")  # a photo's id: the sha256 of its file


class BokeData:
    """Photos (grouped by split) and their real bokes from ``captions.csv``; photo files from the bokete
    download manifest (rows with status ok only). Nothing here takes a path from a request: a photo is
    looked up by its id."""

    def __init__(self, captions_csv: str | os.PathLike, manifest_csv: str | os.PathLike) -> None:
        table = read_captions(captions_csv)
        # the Rate page's most_frequent source: the commonest training boke word for word (of a tie, the
        # one met first in the table); the whole split counts, a photo without a downloaded file too
        train = table.loc[table["split"] == "train", "caption"]
        common = Counter(text for text in train if text.strip()).most_common(1)
        self.most_frequent: str | None = common[0][0] if common else None
        self.files: dict[str, Path] = dict(images_from(manifest_csv))
        table = table[table["image_id"].isin(self.files.keys())]
        # the training bokes as token tuples: a generated boke found here is a copy, and the page says so
        self.training = {tuple(tokens.split()) for tokens in table.loc[table["split"] == "train", "tokens"]}
        self.real: dict[str, list[dict]] = {}
        self.split: dict[str, str] = {}
        for image_id, rows in table.groupby("image_id", sort=False):
            self.split[image_id] = rows["split"].iloc[0]  # one split a photo
            rows = rows[rows["caption"].str.strip() != ""].sort_values("stars", ascending=False, kind="stable")
            self.real[image_id] = [{"text": text, "stars": _number(stars)}
                                   for text, stars in zip(rows["caption"], rows["stars"], strict=True)]
        self.groups: list[dict] = []  # [{"split", "photos": [{"id", "label"}]}] in the order train, val, test
        for split in SPLITS:
            ids = [image_id for image_id, s in self.split.items() if s == split]
            photos = [{"id": image_id, "label": f"{split} photo {number}: {len(self.real[image_id])} bokes"}
                      for number, image_id in enumerate(ids, start=1)]
            if photos:
                self.groups.append({"split": split, "photos": photos})

    def in_split(self, split: str) -> list[str]:
        """The ids of the photos of ``split`` (train, val, test) that have a file, in table order."""
        return [image_id for image_id, s in self.split.items() if s == split]

    def known(self, image_id: str) -> bool:
        return bool(IMAGE_ID.fullmatch(image_id)) and image_id in self.split

    def served(self, image_id: str) -> Path | None:
        """The file of a photo listed in the manifest, or None (an id that is not 64 hex digits included)."""
        if not IMAGE_ID.fullmatch(image_id):
            return None
        return self.files.get(image_id)

    @property
    def first(self) -> str | None:
        return self.groups[0]["photos"][0]["id"] if self.groups else None


class KnownVectors:
    """The training run's feature vector of each photo (``features.h5``), checked against the captioner's."""

    def __init__(self, features_h5: str | os.PathLike, checkpoint: dict) -> None:
        from neta.boke.dataset import check_features, read_caption_features

        self.features, self.rows, info = read_caption_features(features_h5)
        check_features(info, checkpoint, str(features_h5))

    def get(self, image_id: str) -> np.ndarray | None:
        row = self.rows.get(image_id)
        return None if row is None else self.features[row]


def _number(value) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value
