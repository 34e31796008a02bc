"""What the crawler needs to know about one site: how to read its pages and what to keep of them.

The crawl loop (neta.scrape.crawl) is the same for every site; a :class:`SiteAdapter` supplies the
rest, so adding a site costs a parser and a writer, not a crawler.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class LinkWithHeaders:
    """A link the site serves differently depending on request headers, with the headers to send.

    Dodo's 2017 product URL answers a browser with a full page and its own scripts (``X-Requested-With:
    XMLHttpRequest``) with the popup fragment that holds the photos. The crawl deduplicates by URL
    alone, sends ``headers`` with every redirect hop, and the HTTP cache keys on them (see
    neta.scrape.fetch), so the fragment and the page of one URL are never confused.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


# A URL to follow (absolute or relative to the page), or one that needs its own request headers.
Link = str | LinkWithHeaders


def link_url(link: Link) -> str:
    return link.url if isinstance(link, LinkWithHeaders) else link


def link_headers(link: Link) -> dict[str, str]:
    return dict(link.headers) if isinstance(link, LinkWithHeaders) else {}


@dataclass(frozen=True)
class ParsedPage(Generic[T]):
    """What a site parser read off one page."""

    items: list[T]        # records found on the page, in page order
    links: list[Link]     # URLs worth following from this page
    layout: str = ""      # which of the site's page layouts it was, for logs and records
    # Records the page holds but the parser could not read (one message each, naming the record):
    # the crawl records them as item failures and keeps the rest of the page.
    problems: list[str] = field(default_factory=list)


def _first(kept: T, _new: T) -> T:
    return kept


def _everything(_item: T) -> bool:
    return True


def _anywhere(_url: str) -> bool:
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
    ``complete(item)`` says whether an item still waits for another page (Dodo: a pizza before its
    popup brought the photo); ``max_items`` counts complete items only, so a crawl it stops still
    fetched the pages of the items it keeps (default: every item is complete).
    ``in_scope(url)`` says whether a URL on an allowed host belongs to this crawl (Dodo: the cities of
    the start paths); links and redirect hops outside it are recorded, not fetched (default: all).
    ``write(items, path)`` writes the stage's output file.
    """

    name: str
    parse: Callable[[str, str], ParsedPage[T]]
    key: Callable[[T], Hashable]
    write: Callable[[Iterable[T], Path], None]
    merge: Callable[[T, T], T] = _first
    keep: Callable[[T], bool] = _everything
    keep_rule: str = "none"
    complete: Callable[[T], bool] = _everything
    in_scope: Callable[[str], bool] = _anywhere
