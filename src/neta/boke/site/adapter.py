"""bokete as a crawl target: the site adapter and the bokes.csv it writes."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from neta.atomic import write_csv
from neta.boke.site import parse_bokete
from neta.boke.site.records import BOKE_COLUMNS, Boke
from neta.scrape.adapter import SiteAdapter

log = logging.getLogger(__name__)


def bokete_adapter(*, min_stars: int) -> SiteAdapter[Boke]:
    """Crawl bokete into bokes.csv, keeping bokes with at least ``min_stars`` stars."""
    return SiteAdapter(
        name="bokete",
        parse=parse_bokete,
        key=lambda boke: boke.boke_id,
        merge=fuller,
        keep=lambda boke: boke.stars >= min_stars,
        keep_rule=f"min_stars={min_stars}",
        write=write_bokes_csv,
    )


def fuller(kept: Boke, new: Boke) -> Boke:
    """Of two records of one boke, the one that says more (a list entry may lack the text or the
    votes its boke page gives); the one kept so far on a tie, so the result follows crawl order."""
    return new if _information(new) > _information(kept) else kept


def _information(boke: Boke) -> int:
    return sum((bool(boke.text), boke.votes is not None, bool(boke.date), bool(boke.image_url), boke.odai_id > 0))


def bokes_frame(bokes: Iterable[Boke]) -> pd.DataFrame:
    frame = pd.DataFrame([[getattr(b, c) for c in BOKE_COLUMNS] for b in bokes], columns=BOKE_COLUMNS)
    frame = frame.sort_values("boke_id", kind="stable").reset_index(drop=True)
    for column in ("boke_id", "odai_id", "stars", "votes"):
        frame[column] = frame[column].astype("Int64")  # votes may be missing; keep it integer, not float
    return frame


def write_bokes_csv(bokes: Iterable[Boke], path: str | Path) -> None:
    """Write bokes sorted by boke_id as UTF-8 CSV (BOKE_COLUMNS), atomically."""
    frame = bokes_frame(bokes)
    write_csv(path, frame)
    log.info("wrote %s (%d bokes)", path, len(frame))
