"""Breadth-first, polite, resumable crawl of one site, and the scrape stage around it.

What is site-specific (parsing, which records are one item, what to keep, the output file) comes
from a :class:`~neta.scrape.adapter.SiteAdapter`; this module knows no site.

Resuming needs no state of its own: the frontier is rebuilt by walking the same pages in the same
breadth-first order, and every page already fetched comes back from the HTTP cache (no network, no
rate-limit wait) and is parsed again. Parsing costs milliseconds against the second a live page
costs at 1 request/s (benchmarks/crawl.py), so parsed pages are not stored. The walk depends only on
page contents, so an interrupted-then-resumed crawl writes the same file as an uninterrupted one.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from neta.errors import NetaError
from neta.progress import progress as progress_bar
from neta.scrape.adapter import Link, ParsedPage, SiteAdapter, link_headers, link_url
from neta.scrape.charset import decode_html
from neta.scrape.fetch import DISALLOWED, OFF_HOST, OFF_SCOPE, ROBOTS_UNREACHABLE, Robots, polite_get
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import bind, make_session, transport_of
from neta.scrape.urls import host_allowed, netloc_of, normalize_url

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class CrawlResult(Generic[T]):
    items: list[T]                # kept items, in the order first seen
    stats: dict[str, float]
    failures: list[dict[str, str]] = field(default_factory=list)   # url, status, error per failed page
    # host -> why its robots.txt could not be read (its pages were then not requested)
    unreachable: dict[str, str] = field(default_factory=dict)


class _Kept(Generic[T]):
    """Items by key, merged as the adapter says, with a running count of those ``keep`` accepts and
    ``complete`` calls done (so max_items can stop the crawl without rescanning)."""

    def __init__(self, adapter: SiteAdapter[T]):
        self._adapter = adapter
        self._by_key: dict[Hashable, T] = {}
        self.accepted = 0

    def _counts(self, item: T) -> int:
        return int(self._adapter.keep(item) and self._adapter.complete(item))

    def add(self, item: T) -> None:
        key = self._adapter.key(item)
        previous = self._by_key.get(key)
        if previous is None:
            self._by_key[key] = item
            self.accepted += self._counts(item)
        else:
            chosen = self._by_key[key] = self._adapter.merge(previous, item)
            self.accepted += self._counts(chosen) - self._counts(previous)

    def items(self, limit: int | None) -> list[T]:
        accepted = [item for item in self._by_key.values() if self._adapter.keep(item)]
        if limit is None or len(accepted) <= limit:
            return accepted
        # Complete items first, then in the order first seen.
        chosen = sorted(range(len(accepted)), key=lambda i: (not self._adapter.complete(accepted[i]), i))[:limit]
        return [accepted[i] for i in sorted(chosen)]


def crawl(start_urls: Iterable[str], *, adapter: SiteAdapter[T], session, robots: Robots | None,
          allowed_hosts: Iterable[str], max_pages: int | None = None, max_items: int | None = None,
          limiter: RateLimiter | None = None, origin_map: Mapping[str, str] | None = None,
          progress: bool = True) -> CrawlResult[T]:
    """Crawl from ``start_urls`` (recorded form) over the links ``adapter.parse`` finds.

    ``adapter.parse(text, url)`` receives the page decoded by its charset (neta.scrape.charset) and
    the page's recorded URL. ``max_pages`` counts pages requested (fetched or failed); ``max_items``
    stops the crawl once that many distinct items pass ``adapter.keep`` and are ``adapter.complete``.
    A page that fails (network, HTTP status, parser error) is recorded and skipped; so is a record the
    parser could not read (``ParsedPage.problems``), without failing its page. Links outside
    ``adapter.in_scope`` are counted, not fetched; a link with headers is fetched with them.
    ``limiter`` / ``origin_map``, when given, are bound to the session's transport (see
    :func:`neta.scrape.session.bind`).
    """
    if origin_map is not None or limiter is not None:
        bind(session, origin_map=origin_map, limiter=limiter)
    allowed_hosts = tuple(allowed_hosts)
    started = time.perf_counter()
    frontier: deque[tuple[str, dict[str, str]]] = deque()   # (URL, request headers)
    seen: set[str] = set()
    stats = dict(pages_fetched=0, from_cache=0, failed=0, disallowed=0, robots_unreachable=0, off_host=0,
                 off_scope=0, item_errors=0, items_kept=0, items_seen=0)
    failures: list[dict[str, str]] = []
    unreachable: dict[str, str] = {}
    kept: _Kept[T] = _Kept(adapter)

    def enqueue(link: Link, base: str | None = None) -> None:
        try:
            url = normalize_url(link_url(link), base)
        except ValueError:
            return
        if url in seen:  # one fetch a URL, whatever headers a later link asks for
            return
        seen.add(url)
        if not host_allowed(url, allowed_hosts):
            stats["off_host"] += 1
            log.debug("not following %s: host not allowed", url)
            return
        if not adapter.in_scope(url):
            stats["off_scope"] += 1
            log.debug("not following %s: outside the crawl's scope", url)
            return
        frontier.append((url, link_headers(link)))

    for url in start_urls:
        enqueue(url)

    bar = progress_bar(total=max_pages, unit="page", desc="crawl", disable=not progress)
    try:
        while frontier:
            if max_pages is not None and stats["pages_fetched"] + stats["failed"] >= max_pages:
                log.info("max_pages=%d reached; %d URLs left in the frontier", max_pages, len(frontier))
                break
            if max_items is not None and kept.accepted >= max_items:
                log.info("max_items=%d reached; %d URLs left in the frontier", max_items, len(frontier))
                break
            url, headers = frontier.popleft()
            page_url, page = _fetch_and_parse(url, headers, session, robots, allowed_hosts, adapter, stats, failures,
                                              unreachable, bar)
            if page is None:
                continue
            seen.add(page_url)
            stats["pages_fetched"] += 1
            stats["items_seen"] += len(page.items)
            for problem in page.problems:
                stats["item_errors"] += 1
                failures.append({"url": page_url, "status": "item_error", "error": problem})
                log.warning("record skipped: %s", problem)
            for item in page.items:
                kept.add(item)
            for link in page.links:
                enqueue(link, page_url)
            bar.set_postfix(items=kept.accepted, refresh=False)
    finally:
        bar.close()

    items = kept.items(max_items)
    stats["items_kept"] = len(items)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    log.info("crawl %s: %d pages fetched (%d from cache), %d failed, %d disallowed by robots.txt, %d not requested "
             "(robots.txt unreachable), %d off-host, %d off-scope, %d items kept (of %d seen, %d unreadable, keep rule "
             "%s) in %.1f s", adapter.name, stats["pages_fetched"], stats["from_cache"], stats["failed"],
             stats["disallowed"], stats["robots_unreachable"], stats["off_host"], stats["off_scope"],
             stats["items_kept"], stats["items_seen"], stats["item_errors"], adapter.keep_rule, stats["seconds"])
    return CrawlResult(items=items, stats=stats, failures=failures, unreachable=unreachable)


def _fetch_and_parse(url, headers, session, robots, allowed_hosts, adapter, stats, failures, unreachable,
                     bar) -> tuple[str, ParsedPage | None]:
    """(final URL, page) of ``url``, or (url, None) for a page skipped or failed (recorded in ``stats``)."""
    result = polite_get(session, url, robots=robots, allowed_hosts=allowed_hosts, headers=headers or None,
                        in_scope=adapter.in_scope)
    if result.status == OFF_SCOPE:
        stats["off_scope"] += 1
        log.info("not following redirect %s -> %s: outside the crawl's scope", url, result.final_url)
        return url, None
    if result.status == DISALLOWED:
        stats["disallowed"] += 1
        log.info("skipped (robots.txt): %s", result.final_url)
        return url, None
    if result.status == ROBOTS_UNREACHABLE:
        stats["robots_unreachable"] += 1
        unreachable.setdefault(netloc_of(result.final_url), robots.unreachable(result.final_url))
        log.info("skipped: %s", result.error)
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
    stats["from_cache"] += int(result.from_cache)
    response = result.response
    try:
        page = adapter.parse(decode_html(response.content, response.headers.get("Content-Type")), result.final_url)
    except Exception as exc:  # a page the parser cannot read is one failed page, not a failed crawl
        stats["failed"] += 1
        failures.append({"url": url, "status": "parse_error", "error": f"{type(exc).__name__}: {exc}"})
        log.warning("page failed to parse: %s: %s", result.final_url, exc)
        return url, None
    return result.final_url, page


def run_scrape(start_urls: Iterable[str], out_path: str | Path, *, adapter: SiteAdapter,
               base_origin_map: Mapping[str, str] | None, user_agent: str, contact: str, cache_path: str | Path,
               rate_limit: float | None, allowed_hosts: Iterable[str] | None, max_pages: int | None,
               max_items: int | None, max_failure_ratio: float,
               host_rate_limits: Mapping[str, float | None] | None = None, retries: int = 5,
               backoff: float = 0.5, timeout: tuple[float, float] = (5, 20), progress: bool = True) -> dict:
    """The scrape stage: crawl, check the failure ratio, write ``out_path`` with ``adapter.write``;
    return the summary.

    ``base_origin_map`` maps recorded origins to where they are served this run (empty for a live
    crawl, which then needs a real ``contact``). ``rate_limit`` is requests/s per fetch host (0/None:
    off); ``host_rate_limits`` overrides it per host, e.g. ``{"127.0.0.1": 0}``. ``allowed_hosts``
    defaults to the hosts of the start URLs. More than ``max_failure_ratio`` failed pages, or no item
    kept at all, raises NetaError and writes nothing. Deleting the HTTP cache forces every page to be
    fetched again.
    """
    start_urls = [normalize_url(url) for url in start_urls]
    if not start_urls:
        raise NetaError(f"scrape {adapter.name}: no start URLs; set {adapter.name}.start_paths in config.yaml")
    allowed = tuple(allowed_hosts) if allowed_hosts else tuple(sorted({netloc_of(u) for u in start_urls}))
    limiter = RateLimiter(rate_limit, host_rates=host_rate_limits)
    session = make_session(user_agent=user_agent, contact=contact, cache_path=cache_path, retries=retries,
                           backoff=backoff, timeout=timeout, origin_map=base_origin_map, limiter=limiter,
                           site=adapter.name)
    try:
        robots = RobotsPolicy(session, user_agent=user_agent)
        result = crawl(start_urls, adapter=adapter, session=session, robots=robots, allowed_hosts=allowed,
                       max_pages=max_pages, max_items=max_items, progress=progress)
        network_requests = transport_of(session).network_requests
    finally:
        session.close()
    stats = result.stats
    attempted = stats["pages_fetched"] + stats["failed"]
    failure_ratio = stats["failed"] / attempted if attempted else 0.0
    summary = {**stats, "network_requests": network_requests, "failure_ratio": round(failure_ratio, 4),
               "rate_limit_wait_s": round(limiter.waited_s, 3), "out": str(out_path),
               "start_urls": start_urls, "allowed_hosts": list(allowed)}
    if failure_ratio > max_failure_ratio:
        worst = "; ".join(f"{f['url']}: {f['error']}" for f in result.failures[:5])
        raise NetaError(f"scrape {adapter.name}: {stats['failed']} of {attempted} pages failed ({failure_ratio:.1%} "
                        f"> {adapter.name}.max_failure_ratio {max_failure_ratio:.1%}); {out_path} not written. "
                        f"First failures: {worst}. Rerun to retry them (fetched pages come from the cache "
                        f"{cache_path}) or check the site / base_url")
    if not result.items and result.unreachable:
        reasons = "; ".join(result.unreachable[host] for host in sorted(result.unreachable))
        raise NetaError(f"scrape {adapter.name}: {reasons}, after up to {retries} retries. No page of "
                        f"{', '.join(sorted(result.unreachable))} was requested ({stats['robots_unreachable']} "
                        f"skipped), because a site whose robots.txt cannot be read is not crawled; {out_path} not "
                        f"written. Check the network connection and {adapter.name}.base_url in config.yaml, or run "
                        "again later")
    if result.unreachable:
        log.warning("scrape %s: pages of %s not requested: %s", adapter.name, ", ".join(sorted(result.unreachable)),
                    "; ".join(result.unreachable.values()))
    if not result.items:
        raise NetaError(f"scrape {adapter.name}: no item kept from {attempted} pages ({stats['items_seen']} seen, "
                        f"keep rule {adapter.keep_rule}; disallowed by robots.txt: {stats['disallowed']}); "
                        f"{out_path} not written. Check the start paths, allowed_hosts and the keep rule in "
                        "config.yaml")
    adapter.write(result.items, Path(out_path))
    return summary
