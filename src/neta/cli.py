"""`neta …` / `python -m neta …`: one subcommand a stage.

Each stage's subcommands live in `neta.commands.<area>` so that its rule lists them among its code
inputs; handlers import their stage lazily so `--help` is quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from neta import __version__
from neta.errors import NetaError

log = logging.getLogger("neta")


def cmd_inspect(args) -> int:
    from neta.h5io import describe

    for path in args.files:
        print(describe(path, n_values=args.values))
    return 0


# Verbs whose subcommands are sites: `neta parse bokete`, later `neta parse dodo`.
SITE_VERBS = {
    "parse": "parse saved pages into JSON lines (one record an item)",
    "snapshot": "build the bundled OFFLINE snapshot of a site",
    "scrape": "crawl a site politely (robots.txt, rate limit, cache, resume)",
    "download": "download the images a crawl found, checked and deduplicated",
}


def build_parser() -> argparse.ArgumentParser:
    from neta.commands import bokete, etl, hiragana

    parser = argparse.ArgumentParser(prog="neta", description=__doc__)
    parser.add_argument("--version", action="version", version=f"neta {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="print every dataset and attribute of HDF5 files")
    inspect.add_argument("files", nargs="+", metavar="FILE.h5")
    inspect.add_argument("--values", type=int, default=5, help="sample values shown a dataset")
    inspect.set_defaults(handler=cmd_inspect)

    etl.register(commands)
    hiragana.register(commands)
    verbs = {
        verb: commands.add_parser(verb, help=text).add_subparsers(dest=f"{verb}_site", required=True, metavar="SITE")
        for verb, text in SITE_VERBS.items()
    }
    bokete.register(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    started = time.perf_counter()
    try:
        status = args.handler(args)
    except NetaError as exc:
        print(f"neta: error: {exc}", file=sys.stderr)
        return 2
    log.info("%s finished in %.1f s", args.command, time.perf_counter() - started)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
