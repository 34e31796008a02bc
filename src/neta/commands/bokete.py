"""`neta parse|snapshot|scrape|download bokete`: the bokete crawl."""

from __future__ import annotations

import json
import logging
import sys

from neta.commands.crawling import add_site_options, polite_http, site_keys, site_location
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
SNAPSHOT_KEYS = ("seed",)
SCRAPE_KEYS = site_keys("bokete", "start_paths", "max_pages", "max_bokes", "min_stars")
DOWNLOAD_KEYS = site_keys("bokete", "download")


def cmd_parse_bokete(args) -> int:
    from neta.scrape.bokete import bokes_to_json_lines, parse_bokete_file

    for path in args.pages:
        sys.stdout.write(bokes_to_json_lines(parse_bokete_file(path, args.url)))
    return 0


def cmd_snapshot_bokete(args) -> int:
    from neta.snapshot.bokete import build_bokete_snapshot

    summary = build_bokete_snapshot(args.out, seed=read_settings(args)["seed"])
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_scrape_bokete(args) -> int:
    from neta.scrape.bokete.site import bokete_adapter
    from neta.scrape.crawl import run_scrape
    from neta.scrape.sites import expand_start_paths, open_site

    settings = read_settings(args)["bokete"]
    with open_site("bokete", **site_location(args, settings)) as site:
        summary = run_scrape(
            [site.url(path) for path in expand_start_paths(settings["start_paths"])],
            args.out,
            adapter=bokete_adapter(min_stars=settings["min_stars"]),
            allowed_hosts=site.allowed_hosts(settings["allowed_hosts"]),
            max_pages=settings["max_pages"],
            max_items=settings["max_bokes"],
            **polite_http(args, settings, site),
        )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_download_bokete(args) -> int:
    from pathlib import Path

    from neta.images.download import image_urls_from_csv, run_download
    from neta.scrape.sites import open_site

    settings = read_settings(args)["bokete"]
    manifest = Path(args.manifest)
    with open_site("bokete", **site_location(args, settings)) as site:
        summary = run_download(
            image_urls_from_csv(args.bokes),
            manifest.parent,
            manifest,
            # A live site's photos sit on CDN hosts, so only a snapshot narrows the hosts.
            allowed_hosts=site.allowed_hosts(settings["allowed_hosts"]) if site.snapshot else None,
            max_bytes=settings["download"]["max_bytes"],
            workers=settings["download"]["workers"],
            failed_manifest_path=manifest.with_name("manifest.failed.csv"),
            site="bokete",
            **polite_http(args, settings, site),
        )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def register(commands, verbs) -> None:
    """Add the bokete subcommands to the verb groups (`parse`, `snapshot`, `scrape`, `download`)."""
    parse = verbs["parse"].add_parser("bokete", help="bokete pages, any known layout (auto-detected)")
    parse.add_argument("pages", nargs="+", metavar="PAGE.html")
    parse.add_argument("--url", help="the URL the page was saved from (links and source_url resolve against it)")
    parse.set_defaults(handler=cmd_parse_bokete)

    snapshot = verbs["snapshot"].add_parser(
        "bokete", help="bokete: pages in three layouts, sample photos, bokes written for neta")
    snapshot.add_argument("--out", required=True, help="directory to (re)build")
    add_settings_options(snapshot, SNAPSHOT_KEYS)
    snapshot.set_defaults(handler=cmd_snapshot_bokete)

    scrape = verbs["scrape"].add_parser("bokete", help="bokete odai and bokes -> bokes.csv")
    add_site_options(scrape)
    scrape.add_argument("--out", required=True, help="bokes.csv to write")
    add_settings_options(scrape, SCRAPE_KEYS)
    scrape.set_defaults(handler=cmd_scrape_bokete)

    download = verbs["download"].add_parser(
        "bokete", help="odai photos of bokes.csv -> images/<sha256>.<ext> + manifest.csv")
    add_site_options(download)
    download.add_argument("--bokes", required=True, help="bokes.csv from `neta scrape bokete`")
    download.add_argument("--manifest", required=True, help="manifest.csv to write; images go beside it")
    add_settings_options(download, DOWNLOAD_KEYS)
    download.set_defaults(handler=cmd_download_bokete)
