"""Options and settings every site's crawl and download share."""

from __future__ import annotations

from neta import __version__

USER_AGENT = f"neta/{__version__} (research crawler; +https://github.com/neta-workflow/neta)"


def add_site_options(parser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="live site root, e.g. https://bokete.jp")
    where.add_argument("--snapshot", help="offline snapshot directory, served on 127.0.0.1 while the stage runs")
    parser.add_argument("--allow-host", action="append", default=[], help="another host that may be fetched")
    parser.add_argument("--cache", required=True, help="SQLite HTTP cache shared by crawl and downloads")
    parser.add_argument("--rate-limit", type=float, default=1.0, help="requests/s to a live host")
    parser.add_argument("--loopback-rate-limit", type=float, default=0.0, help="requests/s to 127.0.0.1; 0 = off")
    parser.add_argument("--contact", required=True, help="e-mail or URL for the User-Agent")
    parser.add_argument("--max-failure-ratio", type=float, default=0.1)


def polite_http(args, site) -> dict:
    """The politeness settings a crawl and a download of the same site share."""
    return {
        "base_origin_map": site.origin_map,
        "user_agent": USER_AGENT,
        "contact": args.contact,
        "cache_path": args.cache,
        "rate_limit": args.rate_limit,
        "host_rate_limits": {host: args.loopback_rate_limit for host in ("127.0.0.1", "localhost")},
        "max_failure_ratio": args.max_failure_ratio,
    }
