"""The politeness a crawl and a download of one site share: who we are, how fast, where the cache is."""

from __future__ import annotations

from pathlib import Path

from neta import __version__
from neta.scrape.sites import Site

USER_AGENT = f"neta/{__version__} (research crawler; +https://github.com/neta-workflow/neta)"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def polite_http(site: Site, *, contact: str, cache_path: str | Path, rate_limit: float,
                loopback_rate_limit: float, max_failure_ratio: float) -> dict:
    """Keyword arguments of run_scrape / run_download for ``site`` (live, or a snapshot on loopback)."""
    return {
        "base_origin_map": site.origin_map,
        "user_agent": USER_AGENT,
        "contact": contact,
        "cache_path": cache_path,
        "rate_limit": rate_limit,
        "host_rate_limits": dict.fromkeys(LOOPBACK_HOSTS, loopback_rate_limit),
        "max_failure_ratio": max_failure_ratio,
    }
