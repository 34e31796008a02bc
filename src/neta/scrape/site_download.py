"""The download stage of any site: open it (live, or its snapshot served on loopback), fetch the photos."""

from __future__ import annotations

from pathlib import Path

from neta.images import ImageLimits
from neta.scrape.download import run_download
from neta.scrape.politeness import polite_http
from neta.scrape.sites import open_site


def download_site(name: str, *, base_url: str, snapshot_dir: str, allowed_hosts: list[str], urls: list[str],
                  manifest_path: str | Path, max_bytes: int, workers: int, limits: ImageLimits,
                  cache_path: str | Path, contact: str, rate_limit: float, loopback_rate_limit: float,
                  max_failure_ratio: float, section: str) -> dict:
    """Download ``urls`` into the folder of ``manifest_path``; the stage's summary. ``section`` is the
    site's config section, named in messages (``<section>.contact``)."""
    manifest = Path(manifest_path)
    with open_site(name, base_url=base_url or None, snapshot_dir=snapshot_dir or None) as site:
        return run_download(
            urls, manifest.parent, manifest,
            # A live site's photos sit on CDN hosts, so only a snapshot narrows the hosts.
            allowed_hosts=site.allowed_hosts(allowed_hosts) if site.snapshot else None,
            max_bytes=max_bytes, limits=limits, workers=workers,
            failed_manifest_path=manifest.with_name("manifest.failed.csv"), site=section,
            **polite_http(site, contact=contact, cache_path=cache_path, rate_limit=rate_limit,
                          loopback_rate_limit=loopback_rate_limit, max_failure_ratio=max_failure_ratio),
        )
