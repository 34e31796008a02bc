"""What every site's `neta parse|snapshot|scrape|download <site>` shares: its options and settings."""

from __future__ import annotations

import json

from neta.settings import add_settings_options

# The config keys of a site's section that its crawl and its download both read.
POLITENESS_KEYS = ("base_url", "allowed_hosts", "rate_limit", "loopback_rate_limit", "contact",
                   "max_failure_ratio")


def site_keys(section: str, *extra: str) -> tuple[str, ...]:
    return tuple(f"{section}.{key}" for key in (*POLITENESS_KEYS, *extra))


def print_summary(summary: dict) -> int:
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def site_run(args, settings: dict) -> dict:
    """The keyword arguments scrape_site and download_site share, from a site's settings and options."""
    return {"snapshot_dir": args.snapshot, "cache_path": args.cache,
            **{key: settings[key] for key in POLITENESS_KEYS}}


def register_site(verbs, site: str, *, handlers: dict, helps: dict, keys: dict, download_source: tuple) -> None:
    """The four subcommands of a site. ``handlers``/``helps``/``keys`` are keyed by verb;
    ``download_source`` is (flag, help) of the file listing the photos to download."""
    parse = verbs["parse"].add_parser(site, help=helps["parse"])
    parse.add_argument("pages", nargs="+", metavar="PAGE.html")
    parse.add_argument("--url", help="the URL the page was saved from (links and photos resolve against it)")
    parse.set_defaults(handler=handlers["parse"])

    snapshot = verbs["snapshot"].add_parser(site, help=helps["snapshot"])
    snapshot.add_argument("--out", required=True, help="directory to (re)build")
    add_settings_options(snapshot, keys["snapshot"])
    snapshot.set_defaults(handler=handlers["snapshot"])

    for verb in ("scrape", "download"):
        parser = verbs[verb].add_parser(site, help=helps[verb])
        parser.add_argument("--snapshot", default="",
                            help="offline snapshot directory, served on 127.0.0.1 while the stage runs "
                                 "(when the site's base_url is empty)")
        parser.add_argument("--cache", required=True, help="SQLite HTTP cache shared by crawl and downloads")
        if verb == "scrape":
            parser.add_argument("--out", required=True, help="the CSV to write")
        else:
            parser.add_argument(download_source[0], required=True, help=download_source[1])
            parser.add_argument("--manifest", required=True, help="manifest.csv to write; images go beside it")
        add_settings_options(parser, keys[verb])
        parser.set_defaults(handler=handlers[verb])
