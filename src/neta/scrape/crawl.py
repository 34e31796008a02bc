"""Breadth-first, polite, resumable crawl of one site, and the bokes.csv it produces.

Resuming needs no state of its own: the frontier is rebuilt by walking the same pages in the same
breadth-first order, and every page already fetched comes back from the HTTP cache (no network, no
rate-limit wait). The walk depends only on page contents, so an interrupted-then-resumed crawl writes
the same bokes.csv as an uninterrupted one.

With a :class:`~neta.scrape.pagestore.PageStore` a page is parsed once per (URL, body, parser): a
re-crawl takes the stored parse, and where the store's journal proves the HTTP cache still holds the
very response, it does not even read that response (see neta.scrape.pagestore).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from neta.atomic import write_csv
from neta.errors import NetaError
from neta.scrape.charset import decode_html
from neta.scrape.fetch import DISALLOWED, OFF_HOST, polite_get
from neta.scrape.pagestore import PageStore, page_store_path
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.records import BOKE_COLUMNS, Boke, ParsedPage
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import bind, make_session, transport_of
from neta.scrape.urls import host_allowed, netloc_of, normalize_url

log = logging.getLogger(__name__)

Parser = Callable[[bytes | str, str], ParsedPage]


@dataclass
class CrawlResult:
    bokes: list[Boke]
    stats: dict[str, float]
    failures: list[dict[str, str]] = field(default_factory=list)   # url, status, error per failed page


def crawl(start_urls: Iterable[str], *, parse: Parser, session, robots: RobotsPolicy | None,
          allowed_hosts: Iterable[str], max_pages: int | None = None, max_items: int | None = None,
          min_stars: int = 0, limiter: RateLimiter | None = None, origin_map: Mapping[str, str] | None = None,
          page_store: PageStore | None = None, progress: bool = True) -> CrawlResult:
    """Crawl from ``start_urls`` (recorded form) over ``ParsedPage.links``.

    ``parse(text, url)`` receives the page decoded by its charset (HTTP header, then <meta>) and the
    page's recorded URL. ``max_pages`` counts pages requested (fetched or failed); ``max_items`` stops
    the crawl once that many distinct bokes with at least ``min_stars`` stars are kept. A page that
    fails (network, HTTP status, parser error) is recorded and skipped. ``limiter`` / ``origin_map``,
    when given, are bound to the session's transport (see :func:`neta.scrape.session.bind`).
    ``page_store`` (made for this ``parse``) supplies and keeps parsed pages; stats ``parsed`` and
    ``parse_reused`` count pages parsed and taken from it, ``journal_hits`` those of the latter whose
    HTTP-cache entry was not even read.
    """
    if origin_map is not None or limiter is not None:
        bind(session, origin_map=origin_map, limiter=limiter)
    allowed_hosts = tuple(allowed_hosts)
    started = time.perf_counter()
    frontier: deque[str] = deque()
    seen: set[str] = set()
    stats = dict(pages_fetched=0, from_cache=0, failed=0, disallowed=0, off_host=0, bokes_kept=0, bokes_seen=0,
                 parsed=0, parse_reused=0, journal_hits=0)
    failures: list[dict[str, str]] = []
    best: dict[int, Boke] = {}
    kept = 0  # entries of `best` with enough stars, kept incrementally for the max_items check

    def enqueue(url: str, base: str | None = None) -> None:
        try:
            url = normalize_url(url, base)
        except ValueError:
            return
        if url in seen:
            return
        seen.add(url)
        if not host_allowed(url, allowed_hosts):
            stats["off_host"] += 1
            log.debug("not following %s: host not allowed", url)
            return
        frontier.append(url)

    for url in start_urls:
        enqueue(url)

    bar = tqdm(total=max_pages, unit="page", desc="crawl", file=sys.stderr, disable=not progress)
    try:
        while frontier:
            if max_pages is not None and stats["pages_fetched"] + stats["failed"] >= max_pages:
                log.info("max_pages=%d reached; %d URLs left in the frontier", max_pages, len(frontier))
                break
            if max_items is not None and kept >= max_items:
                log.info("max_items=%d reached; %d URLs left in the frontier", max_items, len(frontier))
                break
            url = frontier.popleft()
            page = None
            if page_store is not None and host_allowed(url, allowed_hosts) and (robots is None or robots.allowed(url)):
                page = page_store.recall(url, session)
            if page is not None:
                # the journal vouches for the cached response: same outcome as polite_get + parse
                page_url = url
                stats["from_cache"] += 1
                stats["parse_reused"] += 1
                stats["journal_hits"] += 1
                bar.update(1)
            else:
                page_url, page = _fetch_and_parse(url, session, robots, allowed_hosts, parse, page_store, stats,
                                                  failures, bar)
                if page is None:
                    continue
            seen.add(page_url)
            stats["pages_fetched"] += 1
            for boke in page.bokes:
                stats["bokes_seen"] += 1
                previous = best.get(boke.boke_id)
                if previous is None:
                    best[boke.boke_id] = boke
                    kept += boke.stars >= min_stars
                elif _information(boke) > _information(previous):
                    best[boke.boke_id] = boke
                    kept += (boke.stars >= min_stars) - (previous.stars >= min_stars)
            for link in page.links:
                enqueue(link, page_url)
            bar.set_postfix(bokes=kept, refresh=False)
    finally:
        bar.close()

    bokes = [boke for boke in best.values() if boke.stars >= min_stars]
    if max_items is not None:
        bokes = bokes[:max_items]
    stats["bokes_kept"] = len(bokes)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    log.info("crawl: %d pages fetched (%d from cache), %d failed, %d disallowed by robots.txt, %d off-host, "
             "%d bokes kept (of %d seen, min_stars=%d); %d pages parsed, %d parses reused (%d without reading "
             "the HTTP cache) in %.1f s",
             stats["pages_fetched"], stats["from_cache"], stats["failed"], stats["disallowed"],
             stats["off_host"], stats["bokes_kept"], stats["bokes_seen"], min_stars, stats["parsed"],
             stats["parse_reused"], stats["journal_hits"], stats["seconds"])
    return CrawlResult(bokes=bokes, stats=stats, failures=failures)


def _fetch_and_parse(url, session, robots, allowed_hosts, parse, page_store, stats, failures, bar):
    """(final URL, page) of ``url``, or (url, None) for a page skipped or failed (recorded in ``stats``)."""
    result = polite_get(session, url, robots=robots, allowed_hosts=allowed_hosts)
    if result.status == DISALLOWED:
        stats["disallowed"] += 1
        log.info("skipped (robots.txt): %s", result.final_url)
        return url, None
    if result.status == OFF_HOST:
        stats["off_host"] += 1
        log.info("not following redirect %s -> %s: host not allowed", url, result.final_url)
        return url, None
    bar.update(1)
    if not result.ok:
        stats["failed"] += 1
        failures.append({"url": url, "status": result.status, "error": result.error})
        log.warning("page failed: %s: %s", url, result.error)
        return url, None
    page_url = result.final_url
    response = result.response
    stats["from_cache"] += int(result.from_cache)
    body = response.content
    body_sha256 = hashlib.sha256(body).hexdigest() if page_store is not None else ""
    page = page_store.parsed(page_url, body_sha256) if page_store is not None else None
    if page is not None:
        stats["parse_reused"] += 1
        page_store.save(page_url, body_sha256, None, session=session, response=response)
        return page_url, page
    try:
        page = parse(decode_html(body, response.headers.get("Content-Type")), page_url)
    except Exception as exc:  # a page the parser cannot read is one failed page, not a failed crawl
        stats["failed"] += 1
        failures.append({"url": url, "status": "parse_error", "error": f"{type(exc).__name__}: {exc}"})
        log.warning("page failed to parse: %s: %s", page_url, exc)
        return url, None
    stats["parsed"] += 1
    if page_store is not None:
        page_store.save(page_url, body_sha256, page, session=session, response=response)
    return page_url, page


def _information(boke: Boke) -> int:
    """How much a record says; of two records of one boke the crawl keeps the fuller one (the first on a tie)."""
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


def run_scrape(start_urls: Iterable[str], out_csv: str | Path, *, base_origin_map: Mapping[str, str] | None,
               user_agent: str, contact: str, cache_path: str | Path, rate_limit: float | None,
               allowed_hosts: Iterable[str] | None, max_pages: int | None, max_bokes: int | None,
               min_stars: int, max_failure_ratio: float, parse: Parser,
               host_rate_limits: Mapping[str, float | None] | None = None, retries: int = 5,
               backoff: float = 0.5, timeout: tuple[float, float] = (5, 20), progress: bool = True) -> dict:
    """The scrape stage: crawl, check the failure ratio, write ``out_csv``; return the summary.

    ``base_origin_map`` maps recorded origins to where they are served this run (empty for a live
    crawl). ``rate_limit`` is requests/s per fetch host (0/None: off); ``host_rate_limits`` overrides
    it per host, e.g. ``{"127.0.0.1": 0}``. ``allowed_hosts`` defaults to the hosts of the start URLs.
    More than ``max_failure_ratio`` failed pages, or no boke at all, raises NetaError and writes nothing.
    Parsed pages are kept in ``<cache_path stem>.parsed.sqlite`` beside the cache (see
    neta.scrape.pagestore); deleting the HTTP cache still forces every page to be fetched again.
    """
    start_urls = [normalize_url(url) for url in start_urls]
    if not start_urls:
        raise NetaError("scrape: no start URLs; set the site's start pages in config.yaml")
    allowed = tuple(allowed_hosts) if allowed_hosts else tuple(sorted({netloc_of(u) for u in start_urls}))
    limiter = RateLimiter(rate_limit, host_rates=host_rate_limits)
    session = make_session(user_agent=user_agent, contact=contact, cache_path=cache_path, retries=retries,
                           backoff=backoff, timeout=timeout, origin_map=base_origin_map, limiter=limiter)
    page_store = PageStore.for_parser(page_store_path(cache_path), parse) if cache_path is not None else None
    try:
        robots = RobotsPolicy(session, user_agent=user_agent)
        result = crawl(start_urls, parse=parse, session=session, robots=robots, allowed_hosts=allowed,
                       max_pages=max_pages, max_items=max_bokes, min_stars=min_stars, page_store=page_store,
                       progress=progress)
        network_requests = transport_of(session).network_requests
    finally:
        if page_store is not None:
            page_store.close()
        session.close()
    stats = result.stats
    attempted = stats["pages_fetched"] + stats["failed"]
    failure_ratio = stats["failed"] / attempted if attempted else 0.0
    summary = {**stats, "network_requests": network_requests, "failure_ratio": round(failure_ratio, 4),
               "rate_limit_wait_s": round(limiter.waited_s, 3), "out_csv": str(out_csv),
               "start_urls": start_urls, "allowed_hosts": list(allowed)}
    if failure_ratio > max_failure_ratio:
        worst = "; ".join(f"{f['url']}: {f['error']}" for f in result.failures[:5])
        raise NetaError(f"scrape: {stats['failed']} of {attempted} pages failed ({failure_ratio:.1%} > "
                        f"max_failure_ratio {max_failure_ratio:.1%}); {out_csv} not written. First failures: "
                        f"{worst}. Rerun to retry them (fetched pages come from the cache {cache_path}) or "
                        "check the site / base_url")
    if not result.bokes:
        raise NetaError(f"scrape: no boke kept from {attempted} pages (disallowed by robots.txt: "
                        f"{stats['disallowed']}, min_stars={min_stars}); {out_csv} not written. Check the start "
                        "URLs, allowed_hosts and min_stars in config.yaml")
    write_bokes_csv(result.bokes, out_csv)
    return summary
