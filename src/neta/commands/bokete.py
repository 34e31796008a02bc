"""`neta parse|snapshot|scrape|download bokete`: the bokete crawl."""

from __future__ import annotations

import json
import logging
import sys

from neta.commands.crawling import add_site_options, polite_http

log = logging.getLogger("neta")


def cmd_parse_bokete(args) -> int:
    from neta.scrape.bokete import bokes_to_json_lines, parse_bokete_file

    for path in args.pages:
        sys.stdout.write(bokes_to_json_lines(parse_bokete_file(path, args.url)))
    return 0


def cmd_snapshot_bokete(args) -> int:
    from neta.snapshot.bokete import build_bokete_snapshot

    summary = build_bokete_snapshot(args.out, seed=args.seed)
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_scrape_bokete(args) -> int:
    from neta.scrape.bokete import parse_bokete
    from neta.scrape.crawl import run_scrape
    from neta.scrape.sites import expand_start_paths, open_site

    with open_site("bokete", base_url=args.base_url, snapshot_dir=args.snapshot) as site:
        summary = run_scrape(
            [site.url(path) for path in expand_start_paths(args.start)],
            args.out,
            allowed_hosts=site.allowed_hosts(args.allow_host),
            max_pages=args.max_pages,
            max_bokes=args.max_bokes,
            min_stars=args.min_stars,
            parse=parse_bokete,
            **polite_http(args, site),
        )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_download_bokete(args) -> int:
    from pathlib import Path

    from neta.images.download import image_urls_from_csv, run_download
    from neta.scrape.sites import open_site

    manifest = Path(args.manifest)
    with open_site("bokete", base_url=args.base_url, snapshot_dir=args.snapshot) as site:
        summary = run_download(
            image_urls_from_csv(args.bokes),
            manifest.parent,
            manifest,
            # A live site's photos sit on CDN hosts, so only a snapshot narrows the hosts.
            allowed_hosts=site.allowed_hosts(args.allow_host) if site.snapshot else None,
            max_bytes=args.max_bytes,
            workers=args.workers,
            failed_manifest_path=manifest.with_name("manifest.failed.csv"),
            **polite_http(args, site),
        )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def register(verbs) -> None:
    """Add the bokete subcommands to the verb groups (`parse`, `snapshot`, `scrape`, `download`)."""
    bokete = verbs["parse"].add_parser("bokete", help="bokete pages, any known layout (auto-detected)")
    bokete.add_argument("pages", nargs="+", metavar="PAGE.html")
    bokete.add_argument("--url", help="the URL the page was saved from (links and source_url resolve against it)")
    bokete.set_defaults(handler=cmd_parse_bokete)

    bokete = verbs["snapshot"].add_parser("bokete", help="bokete: pages in three layouts, sample photos, bokes written for neta")
    bokete.add_argument("--out", required=True, help="directory to (re)build")
    bokete.add_argument("--seed", type=int, default=0)
    bokete.set_defaults(handler=cmd_snapshot_bokete)

    bokete = verbs["scrape"].add_parser("bokete", help="bokete odai and bokes -> bokes.csv")
    add_site_options(bokete)
    bokete.add_argument("--start", action="append", required=True, help="start path, e.g. /boke/hot (repeatable)")
    bokete.add_argument("--out", required=True, help="bokes.csv to write")
    bokete.add_argument("--max-pages", type=int, default=400)
    bokete.add_argument("--max-bokes", type=int, default=5000)
    bokete.add_argument("--min-stars", type=int, default=0)
    bokete.set_defaults(handler=cmd_scrape_bokete)

    bokete = verbs["download"].add_parser("bokete", help="odai photos of bokes.csv -> images/<sha256>.<ext> + manifest.csv")
    add_site_options(bokete)
    bokete.add_argument("--bokes", required=True, help="bokes.csv from `neta scrape bokete`")
    bokete.add_argument("--manifest", required=True, help="manifest.csv to write; images go beside it")
    bokete.add_argument("--workers", type=int, default=4)
    bokete.add_argument("--max-bytes", type=int, default=20 * 2**20)
    bokete.set_defaults(handler=cmd_download_bokete)
