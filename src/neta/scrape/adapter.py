"""What the crawler needs to know about one site: how to read its pages and what to keep of them.

The crawl loop (neta.scrape.crawl) is the same for every site; a :class:`SiteAdapter` supplies the
rest, so adding a site costs a parser and a writer, not a crawler.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

# A URL to follow (absolute). A site whose pages need their own request headers (Dodo's product popup
# is fetched with X-Requested-With: XMLHttpRequest) will make this ``str | tuple[str, Mapping]``; the
# crawl turns a link into a request in one place and polite_get already takes ``headers``.
Link = str


@dataclass(frozen=True)
class ParsedPage(Generic[T]):
    """What a site parser read off one page."""

    items: list[T]        # records found on the page, in page order
    links: list[Link]     # absolute URLs worth following from this page
    layout: str = ""      # which of the site's page layouts it was, for logs and records


def _first(kept: T, _new: T) -> T:
    return kept


def _everything(_item: T) -> bool:
    return True


@dataclass(frozen=True)
class SiteAdapter(Generic[T]):
    """The site-specific parts of a crawl.

    ``name`` is the site's config section: it names keys in messages (``<name>.contact``) and logs.
    ``parse(text, url)`` reads one decoded page fetched from ``url`` (recorded form).
    ``key(item)`` says which records are the same item (the crawl deduplicates by it).
    ``merge(kept, new)`` is the record to keep when an item is seen again: one of the two, or both
    combined (default: the first seen).
    ``keep(item)`` filters the final records (default: keep all); ``keep_rule`` says in words what it
    demands, for the message when nothing passes.
    ``write(items, path)`` writes the stage's output file.
    """

    name: str
    parse: Callable[[str, str], ParsedPage[T]]
    key: Callable[[T], Hashable]
    write: Callable[[Iterable[T], Path], None]
    merge: Callable[[T, T], T] = _first
    keep: Callable[[T], bool] = _everything
    keep_rule: str = "none"
