"""`neta etl …`: the ETL files of the hiragana recognizer."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("neta")


def cmd_etl_synth(args) -> int:
    from neta.atomic import atomic_dir
    from neta.etl.synth import synth_etl

    with atomic_dir(args.out) as tmp:
        paths = synth_etl(tmp, fmt=args.format, writers=args.writers, seed=args.seed)
    log.info("wrote %d synthetic %s files to %s", len(paths), args.format, args.out)
    return 0


def cmd_etl_convert(args) -> int:
    from neta.etl.convert import convert_etl

    summary = convert_etl(
        args.input,
        args.format,
        args.out,
        size=args.size,
        classes=args.classes,
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def register(commands) -> None:
    etl = commands.add_parser("etl", help="ETL handwritten-character database files")
    sub = etl.add_subparsers(dest="etl_command", required=True, metavar="ACTION")

    synth = sub.add_parser(
        "synth", help="write SYNTHETIC format-exact ETL files (stand-in for the registration-only database)"
    )
    synth.add_argument("--format", default="ETL8G", help="ETL format to write (default ETL8G)")
    synth.add_argument("--out", required=True, help="directory to create (replaced atomically)")
    synth.add_argument("--writers", type=int, default=5, help="number of synthetic writers")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(handler=cmd_etl_synth)

    convert = sub.add_parser("convert", help="ETL files -> HDF5 of small images, split by writer")
    convert.add_argument("--format", required=True, help="ETL8G, ETL9G, ETL8B2, ETL9B, ETL1, ETL6 or ETL7")
    convert.add_argument("--input", required=True, help="directory holding the ETL files")
    convert.add_argument("--out", required=True, help="HDF5 file to write")
    convert.add_argument("--size", type=int, default=28, help="side of the output images")
    convert.add_argument("--classes", type=int, default=71, choices=(71, 75), help="hiragana class set")
    convert.add_argument("--test-fraction", type=float, default=0.2, help="fraction of writers held out")
    convert.add_argument("--seed", type=int, default=0)
    convert.set_defaults(handler=cmd_etl_convert)
