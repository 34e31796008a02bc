"""Options and settings every site's crawl and download share."""

from __future__ import annotations

from neta import __version__

USER_AGENT = f"neta/{__version__} (research crawler; +https://github.com/neta-workflow/neta)"

# The config keys of a site's section that its crawl and its download both read.
POLITENESS_KEYS = ("base_url", "allowed_hosts", "rate_limit", "loopback_rate_limit", "contact",
                   "max_failure_ratio")


def site_keys(site: str, *extra: str) -> tuple[str, ...]:
    return tuple(f"{site}.{key}" for key in (*POLITENESS_KEYS, *extra))


def add_site_options(parser) -> None:
    parser.add_argument("--snapshot", default="",
                        help="offline snapshot directory, served on 127.0.0.1 while the stage runs "
                             "(when the site's base_url is empty)")
    parser.add_argument("--cache", required=True, help="SQLite HTTP cache shared by crawl and downloads")


def site_location(args, settings: dict) -> dict:
    """open_site's arguments: the live base_url from the settings, or the snapshot directory."""
    return {"base_url": settings["base_url"] or None, "snapshot_dir": args.snapshot or None}


def polite_http(args, settings: dict, site) -> dict:
    """The politeness settings a crawl and a download of the same site share."""
    return {
        "base_origin_map": site.origin_map,
        "user_agent": USER_AGENT,
        "contact": settings["contact"],
        "cache_path": args.cache,
        "rate_limit": settings["rate_limit"],
        "host_rate_limits": {host: settings["loopback_rate_limit"] for host in ("127.0.0.1", "localhost")},
        "max_failure_ratio": settings["max_failure_ratio"],
    }
