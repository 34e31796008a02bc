"""`neta parse|snapshot|scrape|download dodo`: the Dodo Pizza menu crawl (config section `pizza`)."""

from __future__ import annotations

import sys

from neta.commands.crawling import print_summary, register_site, site_keys, site_run
from neta.settings import read_settings

# The config parts each command reads (its rule passes exactly these as --settings).
SNAPSHOT_KEYS = ("seed",)
SCRAPE_KEYS = site_keys("pizza", "start_paths", "max_pages", "max_pizzas")
DOWNLOAD_KEYS = (*site_keys("pizza", "download"), "images")


def cmd_parse_dodo(args) -> int:
    from neta.pizza.site import menu_to_json_lines, parse_dodo_file

    for path in args.pages:
        sys.stdout.write(menu_to_json_lines(parse_dodo_file(path, args.url)))
    return 0


def cmd_snapshot_dodo(args) -> int:
    from neta.pizza.snapshot.build import build_dodo_snapshot

    return print_summary(build_dodo_snapshot(args.out, seed=read_settings(args)["seed"]))


def cmd_scrape_dodo(args) -> int:
    from neta.pizza.site.adapter import dodo_adapter
    from neta.scrape.stage import scrape_site

    settings = read_settings(args)["pizza"]
    return print_summary(scrape_site(
        "dodo", start_paths=settings["start_paths"], out_path=args.out, max_pages=settings["max_pages"],
        max_items=settings["max_pizzas"], make_adapter=lambda start_urls: dodo_adapter(start_urls=start_urls),
        **site_run(args, settings),
    ))


def cmd_download_dodo(args) -> int:
    from neta.images import ImageLimits
    from neta.pizza.menu import recipe_photo_urls
    from neta.scrape.site_download import download_site

    every = read_settings(args)
    settings = every["pizza"]
    return print_summary(download_site(
        "dodo", section="pizza", urls=recipe_photo_urls(args.menu), manifest_path=args.manifest,
        **settings["download"], limits=ImageLimits.of(every), **site_run(args, settings),
    ))


def register(commands, verbs) -> None:
    register_site(
        verbs, "dodo",
        handlers={"parse": cmd_parse_dodo, "snapshot": cmd_snapshot_dodo, "scrape": cmd_scrape_dodo,
                  "download": cmd_download_dodo},
        helps={"parse": "Dodo Pizza menu pages, any known layout (auto-detected)",
               "snapshot": "Dodo Pizza: the original's 20 recipes, 2017 and 2023 layouts, RENDERED photos",
               "scrape": "Dodo Pizza menu -> menu.csv (name, ingredients, photo URL)",
               "download": "the product photos of menu.csv -> images/<sha256>.<ext> + manifest.csv"},
        keys={"snapshot": SNAPSHOT_KEYS, "scrape": SCRAPE_KEYS, "download": DOWNLOAD_KEYS},
        download_source=("--menu", "menu.csv from `neta scrape dodo`"),
    )
