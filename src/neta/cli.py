"""`neta …` / `python -m neta …`: one subcommand a stage.

Each area's subcommands live in `neta.commands.<area>`, and only the area a command line names is
imported, so a stage runs (and its rule tracks) its own command module and not the others'.
Handlers import their stage lazily so `--help` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import pkgutil
import sys
import time

from neta import __version__
from neta import commands as commands_package
from neta.diskspace import is_disk_full
from neta.errors import NetaError

log = logging.getLogger("neta")

# A first word names the module `neta.commands.<word>` that registers it, and a site verb's second
# word the module `neta.commands.<site>`, so a new area or site never edits this file: every stage's
# code= input holds it, and an edit here reruns every stage. Words served by another word's module:
ALIASES = {"caption": "captioner"}
# Verbs whose second word is a site: `neta parse bokete`, `neta parse dodo`.
SITE_VERBS = {
    "parse": "parse saved pages into JSON lines (one record an item)",
    "snapshot": "build the bundled OFFLINE snapshot of a site",
    "scrape": "crawl a site politely (robots.txt, rate limit, cache, resume)",
    "download": "download the images a crawl found, checked and deduplicated",
}


def cmd_inspect(args) -> int:
    from neta.h5io import describe

    for path in args.files:
        print(describe(path, n_values=args.values))
    return 0


def _command_module(word: str) -> str | None:
    name = ALIASES.get(word, word)
    if not name.isidentifier() or importlib.util.find_spec(f"neta.commands.{name}") is None:
        return None
    return f"neta.commands.{name}"


def command_modules(argv: list[str]) -> list[str]:
    """The command modules a command line needs: its own area's or site's, or all of them (for help)."""
    words = [word for word in argv if not word.startswith("-")]
    if words and words[0] == "inspect":
        return []
    if words and words[0] in SITE_VERBS:
        site = _command_module(words[1]) if len(words) > 1 else None
        if site:
            return [site]
    elif words and (area := _command_module(words[0])):
        return [area]
    return [f"neta.commands.{module.name}" for module in pkgutil.iter_modules(commands_package.__path__)]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neta", description=__doc__)
    parser.add_argument("--version", action="version", version=f"neta {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="print every dataset and attribute of HDF5 files")
    inspect.add_argument("files", nargs="+", metavar="FILE.h5")
    inspect.add_argument("--values", type=int, default=5, help="sample values shown a dataset")
    inspect.set_defaults(handler=cmd_inspect)

    verbs = {
        verb: commands.add_parser(verb, help=text).add_subparsers(dest=f"{verb}_site", required=True, metavar="SITE")
        for verb, text in SITE_VERBS.items()
    }
    for name in command_modules(sys.argv[1:] if argv is None else argv):
        module = importlib.import_module(name)
        if hasattr(module, "register"):  # helpers such as neta.commands.crawling register nothing
            module.register(commands, verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
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
    except (OSError, RuntimeError) as exc:
        # a full disk outside the atomic writers (which say which output and how much it needs)
        if not is_disk_full(exc):
            raise
        where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"neta: error: no space left on device{where}; free some space and run the command again",
              file=sys.stderr)
        return 2
    log.info("%s finished in %.1f s", args.command, time.perf_counter() - started)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
