"""`neta etl …`: the ETL files of the hiragana recognizer."""

from __future__ import annotations

import json
import logging

from neta.errors import NetaError
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
SYNTH_KEYS = ("seed", "hiragana.synth")
CONVERT_KEYS = ("seed", "hiragana.size", "hiragana.classes", "hiragana.split")
FORMATS_HELP = "ETL8G, ETL9G, ETL8B2, ETL9B, ETL1, ETL6 or ETL7"


def cmd_etl_synth(args) -> int:
    from neta.atomic import atomic_dir
    from neta.hiragana.etl.synth import HELDOUT_WRITER_BASE, check_families, synth_etl, training_families

    settings = read_settings(args)
    synth = settings["hiragana"]["synth"]
    if args.heldout_styles:
        # writers of the held-out families only, with ids no training set uses
        families = check_families(synth["heldout_families"], "hiragana.synth.heldout_families")
        if not families:
            raise NetaError("--heldout-styles: hiragana.synth.heldout_families is empty; name at least one family")
        writers, first = synth["heldout_writers"], HELDOUT_WRITER_BASE
    else:
        families, writers, first = training_families(synth["heldout_families"]), synth["writers"], 0
    with atomic_dir(args.out) as tmp:
        paths = synth_etl(tmp, fmt=args.format, writers=writers, seed=settings["seed"], families=families,
                          first_writer=first)
    log.info("wrote %d synthetic %s files (%s) to %s", len(paths), args.format, ", ".join(families), args.out)
    return 0


def cmd_etl_convert(args) -> int:
    from neta.hiragana.etl.convert import convert_etl

    settings = read_settings(args)
    hiragana = settings["hiragana"]
    summary = convert_etl(
        args.input,
        args.format,
        args.out,
        size=hiragana["size"],
        classes=hiragana["classes"],
        test_fraction=hiragana["split"]["test_fraction"],
        seed=settings["seed"],
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def register(commands, verbs) -> None:
    etl = commands.add_parser("etl", help="ETL handwritten-character database files")
    sub = etl.add_subparsers(dest="etl_command", required=True, metavar="ACTION")

    synth = sub.add_parser(
        "synth", help="write SYNTHETIC format-exact ETL files (stand-in for the registration-only database)"
    )
    synth.add_argument("--format", required=True, help=f"ETL format to write ({FORMATS_HELP})")
    synth.add_argument("--out", required=True, help="directory to create (replaced atomically)")
    synth.add_argument(
        "--heldout-styles",
        action="store_true",
        help="write the held-out-style set instead: hiragana.synth.heldout_writers writers of the "
        "hiragana.synth.heldout_families only (training sets never use those families)",
    )
    add_settings_options(synth, SYNTH_KEYS)
    synth.set_defaults(handler=cmd_etl_synth)

    convert = sub.add_parser("convert", help="ETL files -> HDF5 of small images, split by writer")
    convert.add_argument("--format", required=True, help=f"format of the files in --input ({FORMATS_HELP})")
    convert.add_argument("--input", required=True, help="directory holding the ETL files")
    convert.add_argument("--out", required=True, help="HDF5 file to write")
    add_settings_options(convert, CONVERT_KEYS)
    convert.set_defaults(handler=cmd_etl_convert)
