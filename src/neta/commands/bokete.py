"""`neta parse|snapshot|scrape|download bokete`: the bokete crawl."""

from __future__ import annotations

import sys

from neta.commands.crawling import print_summary, register_site, site_keys, site_run
from neta.settings import read_settings

# The config parts each command reads (its rule passes exactly these as --settings).
SNAPSHOT_KEYS = ("seed",)
SCRAPE_KEYS = site_keys("bokete", "start_paths", "max_pages", "max_bokes", "min_stars")
DOWNLOAD_KEYS = (*site_keys("bokete", "download"), "images")


def cmd_parse_bokete(args) -> int:
    from neta.boke.site import bokes_to_json_lines, parse_bokete_file

    for path in args.pages:
        sys.stdout.write(bokes_to_json_lines(parse_bokete_file(path, args.url)))
    return 0


def cmd_snapshot_bokete(args) -> int:
    from neta.boke.snapshot.build import build_bokete_snapshot

    return print_summary(build_bokete_snapshot(args.out, seed=read_settings(args)["seed"]))


def cmd_scrape_bokete(args) -> int:
    from neta.boke.site.adapter import bokete_adapter
    from neta.scrape.stage import scrape_site

    settings = read_settings(args)["bokete"]
    return print_summary(scrape_site(
        "bokete", start_paths=settings["start_paths"], out_path=args.out, max_pages=settings["max_pages"],
        max_items=settings["max_bokes"], make_adapter=lambda _start: bokete_adapter(min_stars=settings["min_stars"]),
        **site_run(args, settings),
    ))


def cmd_download_bokete(args) -> int:
    from neta.images import ImageLimits
    from neta.scrape.download import image_urls_from_csv
    from neta.scrape.site_download import download_site

    every = read_settings(args)
    settings = every["bokete"]
    return print_summary(download_site(
        "bokete", section="bokete", urls=image_urls_from_csv(args.bokes), manifest_path=args.manifest,
        **settings["download"], limits=ImageLimits.of(every), **site_run(args, settings),
    ))


def register(commands, verbs) -> None:
    register_site(
        verbs, "bokete",
        handlers={"parse": cmd_parse_bokete, "snapshot": cmd_snapshot_bokete, "scrape": cmd_scrape_bokete,
                  "download": cmd_download_bokete},
        helps={"parse": "bokete pages, any known layout (auto-detected)",
               "snapshot": "bokete: pages in three layouts, sample photos, bokes written for neta",
               "scrape": "bokete odai and bokes -> bokes.csv",
               "download": "odai photos of bokes.csv -> images/<sha256>.<ext> + manifest.csv"},
        keys={"snapshot": SNAPSHOT_KEYS, "scrape": SCRAPE_KEYS, "download": DOWNLOAD_KEYS},
        download_source=("--bokes", "bokes.csv from `neta scrape bokete`"),
    )
