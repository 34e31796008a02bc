"""The scrape stage of any site: open it (live, or its snapshot served on loopback), crawl, write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from neta.scrape.adapter import SiteAdapter
from neta.scrape.crawl import run_scrape
from neta.scrape.politeness import polite_http
from neta.scrape.sites import expand_start_paths, open_site


def scrape_site(name: str, *, base_url: str, snapshot_dir: str, start_paths: list[str], allowed_hosts: list[str],
                out_path: str | Path, make_adapter: Callable[[list[str]], SiteAdapter], max_pages: int,
                max_items: int, cache_path: str | Path, contact: str, rate_limit: float,
                loopback_rate_limit: float, max_failure_ratio: float) -> dict:
    """Crawl site ``name`` from ``start_paths`` with ``make_adapter(start_urls)``; the stage's summary.

    An empty ``base_url`` means the snapshot in ``snapshot_dir``; exactly one of the two is given.
    """
    with open_site(name, base_url=base_url or None, snapshot_dir=snapshot_dir or None) as site:
        start_urls = [site.url(path) for path in expand_start_paths(start_paths)]
        return run_scrape(
            start_urls, out_path, adapter=make_adapter(start_urls), allowed_hosts=site.allowed_hosts(allowed_hosts),
            max_pages=max_pages, max_items=max_items,
            **polite_http(site, contact=contact, cache_path=cache_path, rate_limit=rate_limit,
                          loopback_rate_limit=loopback_rate_limit, max_failure_ratio=max_failure_ratio),
        )
