"""Bokes as captions: the crawled ``bokes.csv`` with its download manifest, and the public boke cans."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pandas as pd

from neta.errors import NetaError
from neta.progress import progress
from neta.tables import read_table

log = logging.getLogger(__name__)

CAN_COLUMNS = ("id", "odai_id", "odai_photo_id", "odai_photo_url", "odai_user_id", "odai_photo_by",
               "boke_user_id", "text", "category", "posted_at", "rate_sum", "rate_count", "labels")
CAN_NEEDS = ("id", "odai_photo_url", "text", "rate_sum")
CAN_CHUNK_ROWS = 20_000  # a can is ~100k rows; a chunk at a time keeps only the columns used in memory

Tokenize = Callable[[str], list[str]]


def join_tokens(tokens: Iterable[str]) -> str:
    """Tokens as the caption table stores them: one space between, none inside a token."""
    return " ".join(part for token in tokens for part in token.split())


def stars_of(values: pd.Series, source: str, column: str) -> pd.Series:
    """Whole numbers of ``column`` ("" as 0); anything else is a NetaError naming ``source``."""
    numbers = pd.to_numeric(values.replace("", "0"), errors="coerce")
    if numbers.isna().any():
        bad = values[numbers.isna()].iloc[0]
        raise NetaError(f"{source}: {column} {bad!r} is not a number")
    return numbers


def first_photos(frame: pd.DataFrame, column: str, max_images: int) -> pd.DataFrame:
    """The rows of the first ``max_images`` distinct ``column`` values (all rows when 0)."""
    if not max_images:
        return frame
    chosen = list(dict.fromkeys(frame[column]))[:max_images]
    return frame[frame[column].isin(chosen)].reset_index(drop=True)


def read_bokete(bokes_csv: str | os.PathLike, manifest: str | os.PathLike, *, tokenize: Tokenize,
                max_images: int) -> tuple[pd.DataFrame, dict]:
    """The bokes whose photo the download manifest lists as ok, with its sha256 as image_id."""
    bokes = read_table(bokes_csv, ("boke_id", "text", "stars", "image_url"), "the scrape stage (`neta scrape bokete`)")
    listed = read_table(manifest, ("url", "sha256", "path", "status"), "the download stage (`neta download bokete`)")
    ok = listed[listed["status"] == "ok"]
    folder = Path(os.path.abspath(Path(manifest).parent))
    ids = dict(zip(ok["url"], ok["sha256"], strict=True))
    files = dict(zip(ok["url"], (str(folder / p) for p in ok["path"]), strict=True))
    has_photo = bokes["image_url"].isin(list(ids))
    counts = {"captions_read": len(bokes), "photos_listed": int(bokes["image_url"].nunique()),
              "captions_dropped_no_photo": int((~has_photo).sum())}
    if counts["captions_dropped_no_photo"]:
        log.warning("%s: %d bokes dropped: their image_url has no ok row in %s", bokes_csv,
                    counts["captions_dropped_no_photo"], manifest)
    kept = bokes[has_photo].reset_index(drop=True)
    frame = pd.DataFrame({"image_id": kept["image_url"].map(ids), "photo": kept["image_url"].map(files),
                          "caption": kept["text"], "tokens": [join_tokens(tokenize(t)) for t in kept["text"]],
                          "stars": stars_of(kept["stars"], str(bokes_csv), "stars"), "split": ""})
    frame = first_photos(frame, "image_id", max_images)
    counts["photos_ok"] = int(frame["image_id"].nunique())
    if frame.empty:
        raise NetaError(f"{bokes_csv}: no boke has a downloaded photo in {manifest}; rerun the download stage")
    return frame, counts


def read_cans(cans: Iterable[str | os.PathLike], *, tokenize: Tokenize, max_images: int) -> tuple[pd.DataFrame, dict]:
    """Every boke of the cans, in can order; ``photo`` is ``<can>/images/<basename of odai_photo_url>``.

    With ``max_images`` only the bokes of the first that many photos are kept (the files are still
    read to their end: a photo's bokes need not be adjacent).
    """
    parts, counts = [], {"captions_read": 0, "captions_no_photo_url": 0}
    chosen: dict[str, None] = {}
    cans = [Path(can) for can in cans]
    if not cans:
        raise NetaError("captioner.cans: no can directory given (each holds boke.csv and images/)")
    for can in cans:
        started = time.perf_counter()
        table = can / "boke.csv"
        n_before = counts["captions_read"]
        for chunk in _can_chunks(table):
            counts["captions_read"] += len(chunk)
            names = chunk["odai_photo_url"].map(_photo_name)
            counts["captions_no_photo_url"] += int((names == "").sum())
            chunk = chunk[names != ""].reset_index(drop=True)
            images = Path(os.path.abspath(can / "images"))
            frame = pd.DataFrame({"photo": [str(images / name) for name in names[names != ""]],
                                  "url": chunk["odai_photo_url"], "caption": chunk["text"],
                                  "stars": stars_of(chunk["rate_sum"], str(table), "rate_sum"), "split": ""})
            if max_images:
                for photo in frame["photo"]:
                    if len(chosen) >= max_images:
                        break
                    chosen.setdefault(photo)
                frame = frame[frame["photo"].isin(list(chosen))]
            frame = frame.assign(tokens=[join_tokens(tokenize(text)) for text in frame["caption"]])
            parts.append(frame)
        log.info("%s: %d bokes read in %.1f s", table, counts["captions_read"] - n_before,
                 time.perf_counter() - started)
    if counts["captions_no_photo_url"]:
        log.warning("cans: %d bokes without an odai_photo_url dropped", counts["captions_no_photo_url"])
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        raise NetaError(f"cans {', '.join(map(str, cans))}: no boke with a photo to read")
    return frame, counts


def _photo_name(url: str) -> str:
    name = PurePosixPath(urlsplit(url.strip()).path).name
    return "" if name in ("", ".", "..") else name


def _can_chunks(table: Path):
    """``table`` in chunks of the columns used, all text; a NetaError naming the file for anything unreadable."""
    if not table.is_file():
        raise NetaError(f"{table}: no such file; a boke can is a folder with boke.csv and images/")
    try:
        reader = pd.read_csv(table, dtype=str, keep_default_na=False, chunksize=CAN_CHUNK_ROWS)
        with reader, progress(unit="boke", desc=table.parent.name, leave=False) as bar:
            for chunk in reader:
                missing = [column for column in CAN_NEEDS if column not in chunk.columns]
                if missing:
                    raise NetaError(f"{table}: no column {', '.join(missing)} (columns: {', '.join(chunk.columns)}); "
                                    f"a boke can's boke.csv has {', '.join(CAN_COLUMNS)}")
                bar.update(len(chunk))
                yield chunk[list(CAN_NEEDS)]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise NetaError(f"{table}: cannot read as a boke can's CSV ({exc})") from exc
