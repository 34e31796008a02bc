"""The boke record every bokete layout parser produces, and the columns of bokes.csv."""

from dataclasses import dataclass

BOKE_COLUMNS = ["boke_id", "odai_id", "text", "stars", "votes", "image_url", "date", "source_url", "layout"]


@dataclass(frozen=True)
class Boke:
    boke_id: int
    odai_id: int
    text: str
    stars: int            # star total (rateSum on the Next.js site)
    votes: int | None     # number of raters where the page says it (rateCount), else None
    image_url: str        # absolute URL of the odai photo
    date: str | None      # ISO 8601 where the page gives it
    source_url: str       # the page it was parsed from
    layout: str           # "xhtml2013" | "classic2016" | "nextjs"
