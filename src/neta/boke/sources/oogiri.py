"""Oogiri-GO, the public humour set of the CLoT paper (Zhong et al., "Let's Think Outside the Box",
CVPR 2024): read as captions, and the crawled bokes written in its format.

One JSON object a line: ``{"type", "question", "image", "text", "star"}``. ``type`` is the game: I2T
(an image alone, bokete's 「画像で一言」), IT2T (an image with text in it, e.g. a speech bubble to
fill) or T2T (a text prompt, no image); ``question`` the prompt text (null for the image games);
``image`` the picture's name in the dataset's image folder (the public files give an id such as
``"5651380"``, the file's extension left off); ``text`` the answer; ``star`` its likes (null where
none were recorded). The set comes as one file a language (``jp.jsonl`` is the Japanese part), so
the file itself says the language and the config names it.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from neta.atomic import write_text
from neta.boke.sources.bokete import Tokenize, join_tokens, stars_of
from neta.errors import NetaError
from neta.tables import read_table

log = logging.getLogger(__name__)

KEYS = ("type", "question", "image", "text", "star")
TYPES = ("I2T", "IT2T", "T2T")
IMAGE_TYPES = ("I2T", "IT2T")  # the games with a picture, the only ones a captioner can learn from
WHAT = "an Oogiri-GO file (JSON lines with type, question, image, text, star)"


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line; a NetaError naming ``path:line`` for anything
    that is not a JSON object with the five keys."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise NetaError(f"{path}: cannot read {WHAT} ({exc}); check captioner.oogiri_go.file") from exc
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise NetaError(f"{path}:{number}: not UTF-8 ({exc.reason}); is it {WHAT}?") from exc
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NetaError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                                f"is it {WHAT}?") from exc
            if not isinstance(item, dict):
                raise NetaError(f"{path}:{number}: a JSON {type(item).__name__}, not an object; is it {WHAT}?")
            missing = [key for key in KEYS if key not in item]
            if missing:
                raise NetaError(f"{path}:{number}: no key {', '.join(missing)}; each line of {WHAT} has all five")
            yield number, item


def _star(value, where: str) -> int | None:
    """The likes of an item: a whole number of 0 or more, or None where the file has null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value) or value < 0:
        raise NetaError(f"{where}: star {value!r} is not a whole number of 0 or more")
    return int(value)


def _image_name(value, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an id written as a number
    if not isinstance(value, str) or not value.strip():
        raise NetaError(f"{where}: image {value!r} is not the name of a picture in the image folder")
    name = value.strip()
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise NetaError(f"{where}: image {name!r} is not inside the image folder (captioner.oogiri_go.images)")
    return name


class _ImageFolder:
    """Finds an item's picture: ``folder/<image>`` itself, else the one file ``<image>.<extension>``
    (the public files name images by id, without the extension their files have)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(os.path.abspath(folder))
        self._found: dict[str, str] = {}
        self._stems: dict[Path, dict[str, list[str]]] = {}

    def path(self, name: str, where: str) -> str:
        if name not in self._found:
            self._found[name] = self._look(name, where)
        return self._found[name]

    def _look(self, name: str, where: str) -> str:
        direct = self.folder / name
        if direct.is_file():
            return str(direct)
        files = self._stems_of(direct.parent).get(direct.name, [])
        if len(files) > 1:
            raise NetaError(f"{where}: image {name!r} could be any of {', '.join(files)} in {direct.parent}; "
                            "keep one of them")
        # A picture not there stays as its plain name: the photo check lists it as missing.
        return str(direct.parent / files[0]) if files else str(direct)

    def _stems_of(self, folder: Path) -> dict[str, list[str]]:
        """File stem -> file names of ``folder``, listed once (a folder of 100k images is read once)."""
        if folder not in self._stems:
            stems: dict[str, list[str]] = {}
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_file():
                            stems.setdefault(os.path.splitext(entry.name)[0], []).append(entry.name)
            except OSError:
                pass
            self._stems[folder] = {stem: sorted(names) for stem, names in stems.items()}
        return self._stems[folder]


def read_oogiri_go(file: str | os.PathLike, images: str | os.PathLike, *, types: Iterable[str], min_star: int,
                   tokenize: Tokenize, max_images: int) -> tuple[pd.DataFrame, dict]:
    """The answers of the ``types`` games (I2T, IT2T) in ``file`` with at least ``min_star`` stars, as
    caption rows (``photo`` paths not checked yet), in file order; ``star`` is kept as the boke's stars.

    Items of other games are counted by type and left out; so are answers below ``min_star`` (an item
    with star null counts as 0). An IT2T item's question is not given to the model (it learns from the
    picture alone) and is counted. With ``max_images`` only the answers of the first that many pictures
    are kept (the file is still read to its end: a picture's answers need not be adjacent).
    """
    path = Path(file)
    folder = Path(images)
    if not folder.is_dir():
        raise NetaError(f"{folder}: no such folder of Oogiri-GO images (captioner.oogiri_go.images)")
    wanted = tuple(types)
    unknown = [kind for kind in wanted if kind not in IMAGE_TYPES]
    if not wanted or unknown:
        raise NetaError(f"captioner.oogiri_go.types: {list(wanted)} must be some of {', '.join(IMAGE_TYPES)} "
                        "(T2T items have no picture to learn from)")
    finder = _ImageFolder(folder)
    by_type: Counter = Counter()
    counts = {"captions_read": 0, "captions_other_type": 0, "captions_below_min_star": 0,
              "captions_without_star": 0, "questions_not_used": 0}
    chosen: dict[str, None] = {}
    rows = []
    for number, item in _lines(path):
        where = f"{path}:{number}"
        kind = item["type"]
        if kind not in TYPES:
            raise NetaError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        by_type[kind] += 1
        counts["captions_read"] += 1
        if kind not in wanted:
            counts["captions_other_type"] += 1
            continue
        text = item["text"]
        if not isinstance(text, str):
            raise NetaError(f"{where}: text {text!r} is not a string")
        name = _image_name(item["image"], where)
        star = _star(item["star"], where)
        if star is None:
            counts["captions_without_star"] += 1
        if (star or 0) < min_star:
            counts["captions_below_min_star"] += 1
            continue
        if isinstance(item["question"], str) and item["question"].strip():
            counts["questions_not_used"] += 1
        photo = finder.path(name, where)
        if max_images and photo not in chosen:
            if len(chosen) >= max_images:
                continue
            chosen[photo] = None
        rows.append({"photo": photo, "url": Path(photo).as_uri(), "caption": text,
                     "tokens": join_tokens(tokenize(text)), "stars": star or 0, "split": ""})
    counts["captions_by_type"] = {kind: by_type[kind] for kind in TYPES}
    log.info("%s: %d items (%s); read the %s items", path, counts["captions_read"],
             ", ".join(f"{kind} {by_type[kind]}" for kind in TYPES), " and ".join(wanted))
    if counts["captions_other_type"]:
        log.warning("%s: %d items of other games left out (%s)", path, counts["captions_other_type"],
                    ", ".join(f"{kind} {by_type[kind]}" for kind in TYPES if kind not in wanted and by_type[kind]))
    if counts["captions_below_min_star"]:
        log.info("%s: %d answers below min_star %d left out", path, counts["captions_below_min_star"], min_star)
    if counts["captions_without_star"]:
        log.info("%s: %d answers without a star count as 0 stars", path, counts["captions_without_star"])
    if counts["questions_not_used"]:
        log.info("%s: %d IT2T questions not used: the captioner learns from the picture alone", path,
                 counts["questions_not_used"])
    if not rows:
        raise NetaError(f"{path}: no {' or '.join(wanted)} answer to read ({counts['captions_read']} items: "
                        + ", ".join(f"{kind} {by_type[kind]}" for kind in TYPES) + f"; min_star {min_star})")
    return pd.DataFrame(rows), counts


def export_oogiri_go(bokes_csv: str | os.PathLike, manifest: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Write the crawled bokes whose photo downloaded as Oogiri-GO I2T items to ``out``; return counts.

    ``image`` is the photo's file relative to the download folder (the manifest's), so that folder is
    the image folder of the file; ``question`` is null, as for the public set's I2T items (bokes.csv
    holds no odai text); ``star`` the boke's stars. Bokes without a downloaded photo are counted and
    left out.
    """
    bokes = read_table(bokes_csv, ("boke_id", "text", "stars", "image_url"), "the scrape stage (`neta scrape bokete`)")
    listed = read_table(manifest, ("url", "path", "status"), "the download stage (`neta download bokete`)")
    ok = listed[listed["status"] == "ok"]
    names = dict(zip(ok["url"], ok["path"], strict=True))
    kept = bokes[bokes["image_url"].isin(list(names))]
    stars = stars_of(kept["stars"], str(bokes_csv), "stars")
    if (stars % 1 != 0).any() or (stars < 0).any():
        bad = kept["stars"][(stars % 1 != 0) | (stars < 0)].iloc[0]
        raise NetaError(f"{bokes_csv}: stars {bad!r} is not a whole number of 0 or more")
    lines = [json.dumps({"type": "I2T", "question": None, "image": names[url], "text": text, "star": int(star)},
                        ensure_ascii=False)
             for url, text, star in zip(kept["image_url"], kept["text"], stars, strict=True)]
    summary = {"bokes_read": len(bokes), "bokes_written": len(lines),
               "bokes_dropped_no_photo": len(bokes) - len(kept), "images": int(kept["image_url"].nunique()),
               "image_folder": os.path.abspath(Path(manifest).parent), "out": str(out)}
    if summary["bokes_dropped_no_photo"]:
        log.warning("%s: %d bokes left out: their image_url has no ok row in %s", bokes_csv,
                    summary["bokes_dropped_no_photo"], manifest)
    if not lines:
        raise NetaError(f"{bokes_csv}: no boke has a downloaded photo in {manifest}; rerun the download stage")
    write_text(out, "".join(line + "\n" for line in lines))
    log.info("wrote %d bokes of %d photos to %s; their images are in %s", len(lines), summary["images"], out,
             summary["image_folder"])
    return summary
