"""`neta ratings …`: what people said on the app's Rate page.

``summary`` prints each pair of sources' win rate with its Wilson interval, the raters, the judgements
and the raters' agreement (``--json`` for the numbers as JSON, ``--html`` to also write the report's
page); ``export`` writes every judgement as one CSV row. Both read the SQLite file ``neta serve``
writes (``results/ratings.sqlite``) and refuse a missing one rather than creating it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("neta")


def default_db() -> str:
    from neta.layout import Layout

    return Layout.ratings()


def _judgements(db: str):
    from neta.errors import NetaError
    from neta.ratings.store import RatingStore

    if not Path(db).exists():
        raise NetaError(f"no ratings yet: {db} does not exist; rate bokes at /rate in `neta serve`")
    with RatingStore(db) as store:  # closed before anything is written: its last close checkpoints the WAL
        return store.judgements()


def cmd_ratings_summary(args) -> int:
    from neta.atomic import write_text
    from neta.ratings.stats import summarise
    from neta.stats.ratings import ratings_html, summary_text

    summary = summarise(_judgements(args.db))
    if args.html:
        write_text(args.html, ratings_html(summary, source=args.db))
        log.info("read %s, wrote %s", args.db, args.html)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(summary_text(summary, source=args.db), end="")
    return 0


def cmd_ratings_export(args) -> int:
    import csv

    from neta.atomic import atomic_path
    from neta.ratings.store import COLUMNS

    judgements = _judgements(args.db)
    with atomic_path(args.out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(judgement.row() for judgement in judgements)
    log.info("read %s, wrote %d judgements to %s", args.db, len(judgements), args.out)
    return 0


def register(commands, verbs) -> None:
    ratings = commands.add_parser("ratings", help="the blind human ratings of the app's Rate page")
    sub = ratings.add_subparsers(dest="ratings_command", required=True, metavar="ACTION")

    summary = sub.add_parser("summary", help="win rates of each pair of sources with 95 %% intervals, raters, "
                                             "judgements and the raters' agreement (Krippendorff's alpha)")
    summary.add_argument("--db", default=default_db(), help="the ratings database (default: %(default)s)")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    summary.add_argument("--html", metavar="HTML", help="also write the summary as a self-contained HTML page "
                                                        "(the report's ratings table)")
    summary.set_defaults(handler=cmd_ratings_summary)

    export = sub.add_parser("export", help="every judgement as one CSV row (all columns of the database)")
    export.add_argument("--db", default=default_db(), help="the ratings database (default: %(default)s)")
    export.add_argument("--out", required=True, help="CSV file to write (atomically)")
    export.set_defaults(handler=cmd_ratings_export)
