"""`neta etl …`: the ETL files of the hiragana recognizer."""

from __future__ import annotations

import json
import logging

from neta.errors import NetaError
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
SYNTH_KEYS = ("seed", "hiragana.synth")
CONVERT_KEYS = ("seed", "hiragana.size", "hiragana.classes", "hiragana.split", "hiragana.normalise")
# the same records at the batch-normalised CNN's own size
CONVERT_BN_CNN_KEYS = ("seed", "hiragana.bn_cnn.size", "hiragana.classes", "hiragana.split", "hiragana.normalise")
FORMATS_HELP = "ETL8G, ETL9G, ETL8B2, ETL9B, ETL1, ETL6 or ETL7"


def cmd_etl_synth(args) -> int:
    from neta.atomic import atomic_dir
    from neta.diskspace import require_free_space
    from neta.hiragana.etl.synth import (
        HELDOUT_WRITER_BASE,
        check_families,
        synth_bytes,
        synth_etl,
        training_families,
    )
    from neta.hiragana.etl.synth.handfonts import check_fonts, font_names, fonts_dir, training_fonts, usable_fonts

    settings = read_settings(args)
    synth = settings["hiragana"]["synth"]
    heldout_fonts = check_fonts(synth["heldout_fonts"], "hiragana.synth.heldout_fonts")
    if args.heldout_styles:
        # writers of the held-out families only, with ids no training set uses
        families = check_families(synth["heldout_families"], "hiragana.synth.heldout_families")
        if "font" in families:
            fonts = font_names()  # no font writer trains, so every font is unseen
        else:
            # font writers of the held-out fonts: unseen hands, beside the unseen pens
            fonts = heldout_fonts
            if usable_fonts(fonts, fonts_dir()):
                families = (*families, "font")
        if not families:
            raise NetaError("--heldout-styles: hiragana.synth.heldout_families is empty and no held-out font is "
                            "installed; name at least one family")
        writers, first = synth["heldout_writers"], HELDOUT_WRITER_BASE
    else:
        families, writers, first = training_families(synth["heldout_families"]), synth["writers"], 0
        fonts = training_fonts(heldout_fonts)
    needed = synth_bytes(writers, args.format)
    require_free_space(args.out, needed, f"{writers} synthetic writers")
    with atomic_dir(args.out, expected_bytes=needed) as tmp:
        paths = synth_etl(tmp, fmt=args.format, writers=writers, seed=settings["seed"], families=families,
                          first_writer=first, fonts=fonts)
    log.info("wrote %d synthetic %s files (%s) to %s", len(paths), args.format, ", ".join(families), args.out)
    return 0


def cmd_etl_convert(args) -> int:
    from neta.hiragana.etl.convert import convert_etl

    settings = read_settings(args)
    summary = convert_etl(args.input, args.format, args.out, size=settings["hiragana"]["size"],
                          **_convert_options(args, settings))
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_etl_convert_bn_cnn(args) -> int:
    from neta.hiragana.etl.convert import convert_etl

    settings = read_settings(args)
    summary = convert_etl(args.input, args.format, args.out, size=settings["hiragana"]["bn_cnn"]["size"],
                          **_convert_options(args, settings))
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def _convert_options(args, settings: dict) -> dict:
    """convert_etl's options but the size: the same for both models' records."""
    hiragana = settings["hiragana"]
    return {
        "classes": hiragana["classes"],
        "test_fraction": hiragana["split"]["test_fraction"],
        "seed": settings["seed"],
        "normalise": hiragana["normalise"],
        "workers": args.threads,
    }


def cmd_etl_relayout(args) -> int:
    from neta.hiragana.dataset import load_etl_split
    from neta.hiragana.etl.relayout import write_layouts

    writers = None
    if args.writers_of:
        writers = set(load_etl_split(args.writers_of, args.split).writers.tolist())
    summary = write_layouts(args.input, args.format, args.out, writers=writers)
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
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
        "hiragana.synth.heldout_families and font writers of the hiragana.synth.heldout_fonts only "
        "(training sets never use those families or fonts)",
    )
    add_settings_options(synth, SYNTH_KEYS)
    synth.set_defaults(handler=cmd_etl_synth)

    for name, keys, handler, help_text in (
        ("convert", CONVERT_KEYS, cmd_etl_convert,
         "ETL files -> HDF5 of small images (hiragana.size), split by writer"),
        ("convert-bn-cnn", CONVERT_BN_CNN_KEYS, cmd_etl_convert_bn_cnn,
         "the same as convert, at the batch-normalised CNN's size (hiragana.bn_cnn.size)"),
    ):
        convert = sub.add_parser(name, help=help_text)
        convert.add_argument("--format", required=True, help=f"format of the files in --input ({FORMATS_HELP})")
        convert.add_argument("--input", required=True, help="directory holding the ETL files")
        convert.add_argument("--out", required=True, help="HDF5 file to write")
        convert.add_argument("--threads", type=int, default=1, help="processes normalising the records (speed only)")
        add_settings_options(convert, keys)
        convert.set_defaults(handler=handler)

    relayout = sub.add_parser(
        "relayout",
        help="write the hiragana of ETL files again as ETL8G and ETL8B2 records and as pictures (test proxies)",
    )
    relayout.add_argument("--format", required=True, help=f"format of the files in --input ({FORMATS_HELP})")
    relayout.add_argument("--input", required=True, help="directory holding the ETL files")
    relayout.add_argument("--out", required=True, help="directory to create (replaced atomically)")
    relayout.add_argument("--writers-of", default=None, help="etl_28.h5: keep only the writers of its --split")
    relayout.add_argument("--split", default="test", choices=("train", "test"), help="which split's writers")
    relayout.set_defaults(handler=cmd_etl_relayout)
