"""`neta …` / `python -m neta …`: one subcommand a stage. Imports are lazy so `--help` is quick."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from neta import __version__
from neta.errors import NetaError

log = logging.getLogger("neta")

USER_AGENT = f"neta/{__version__} (research crawler; +https://github.com/neta-workflow/neta)"


def _schedule(text: str) -> list[list[float]]:
    """Parse "0:1e-3,1000:1e-4" into [[0, 1e-3], [1000, 1e-4]]."""
    try:
        pairs = [item.split(":") for item in text.split(",") if item]
        return [[int(step), float(value)] for step, value in pairs]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"schedule {text!r}: expected STEP:VALUE pairs separated by commas, e.g. 0:1e-3,1000:1e-4"
        ) from exc


# --- handlers --------------------------------------------------------------------------------


def cmd_inspect(args) -> int:
    from neta.h5io import describe

    for path in args.files:
        print(describe(path, n_values=args.values))
    return 0


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


def cmd_hiragana_train(args) -> int:
    from neta.train.hiragana import train_hiragana

    summary = train_hiragana(
        args.etl,
        args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr_schedule=args.lr_schedule,
        keep_prob_schedule=args.keep_prob_schedule,
        baseline_steps=args.baseline_steps,
        baseline_lr=args.baseline_lr,
        baseline_batch_size=args.baseline_batch_size,
        init_std=args.init_std,
        bias_init=args.bias_init,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_hiragana_evaluate(args) -> int:
    from neta.device import set_threads
    from neta.evaluate.hiragana import evaluate_hiragana

    set_threads(args.threads)
    metrics = evaluate_hiragana(
        args.model,
        args.etl,
        metrics_path=args.metrics,
        confusion_path=args.confusion,
        filters_path=args.filters,
        errors_path=args.errors,
        device=args.device,
    )
    log.info("CNN test accuracy %.4f, baseline %.4f", metrics["cnn"]["accuracy"], metrics["baseline"]["accuracy"])
    return 0


def cmd_hiragana_eval(args) -> int:
    from neta.etl.convert import preprocess
    from neta.etl.formats import get_format
    from neta.etl.reader import read_etl_dir
    from neta.evaluate.hiragana import evaluate_arrays, model_classes

    fmt = get_format(args.format)
    records = read_etl_dir(args.etl_dir, fmt, model_classes(args.model))
    images = preprocess(records.images, fmt.bits, size=args.size)
    metrics = evaluate_arrays(args.model, images, records.chars, device=args.device)
    print(json.dumps(metrics, ensure_ascii=False, sort_keys=True, indent=2))
    return 0


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


def _polite_http(args, site) -> dict:
    """The politeness settings a crawl and a download of the same site share."""
    return {
        "base_origin_map": site.origin_map,
        "user_agent": USER_AGENT,
        "contact": args.contact,
        "cache_path": args.cache,
        "rate_limit": args.rate_limit,
        "host_rate_limits": {host: args.loopback_rate_limit for host in ("127.0.0.1", "localhost")},
        "max_failure_ratio": args.max_failure_ratio,
    }


def cmd_scrape_bokete(args) -> int:
    from neta.scrape.bokete import parse_bokete
    from neta.scrape.crawl import run_scrape
    from neta.scrape.sites import open_site

    with open_site("bokete", base_url=args.base_url, snapshot_dir=args.snapshot) as site:
        summary = run_scrape(
            [site.url(path) for path in args.start],
            args.out,
            allowed_hosts=site.allowed_hosts(args.allow_host),
            max_pages=args.max_pages,
            max_bokes=args.max_bokes,
            min_stars=args.min_stars,
            parse=parse_bokete,
            **_polite_http(args, site),
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
            **_polite_http(args, site),
        )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neta", description=__doc__)
    parser.add_argument("--version", action="version", version=f"neta {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="print every dataset and attribute of HDF5 files")
    inspect.add_argument("files", nargs="+", metavar="FILE.h5")
    inspect.add_argument("--values", type=int, default=5, help="sample values shown a dataset")
    inspect.set_defaults(handler=cmd_inspect)

    _add_etl(commands)
    _add_hiragana(commands)
    _add_parse(commands)
    _add_snapshot(commands)
    _add_scrape(commands)
    return parser


def _add_etl(commands) -> None:
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


def _add_hiragana(commands) -> None:
    hiragana = commands.add_parser("hiragana", help="train and evaluate the hiragana recognizer")
    sub = hiragana.add_subparsers(dest="hiragana_command", required=True, metavar="ACTION")

    train = sub.add_parser("train", help="train the CNN and the softmax baseline")
    train.add_argument("--etl", required=True, help="etl_28.h5 from `neta etl convert`")
    train.add_argument("--out", required=True, help="checkpoint to write (model.pt)")
    train.add_argument("--steps", type=int, default=20000)
    train.add_argument("--batch-size", type=int, default=50)
    train.add_argument("--lr-schedule", type=_schedule, default=_schedule("0:1e-3,1000:1e-4,3000:1e-5"))
    train.add_argument("--keep-prob-schedule", type=_schedule, default=_schedule("0:1.0,3000:0.3"))
    train.add_argument("--init-std", type=float, default=0.1)
    train.add_argument("--bias-init", type=float, default=0.1)
    train.add_argument("--baseline-steps", type=int, default=2000)
    train.add_argument("--baseline-lr", type=float, default=5e-3)
    train.add_argument("--baseline-batch-size", type=int, default=50)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto")
    train.add_argument("--threads", type=int, default=1)
    train.set_defaults(handler=cmd_hiragana_train)

    evaluate = sub.add_parser("evaluate", help="test-split metrics and figures for a trained model")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--etl", required=True, help="etl_28.h5 (its test split is used)")
    evaluate.add_argument("--metrics", required=True, help="metrics.json to write")
    evaluate.add_argument("--confusion", required=True, help="confusion.png to write")
    evaluate.add_argument("--filters", required=True, help="filters.png to write")
    evaluate.add_argument("--errors", required=True, help="errors.png to write")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--threads", type=int, default=1)
    evaluate.set_defaults(handler=cmd_hiragana_evaluate)

    ev = sub.add_parser("eval", help="print JSON metrics of a model on any directory of ETL files")
    ev.add_argument("--model", required=True)
    ev.add_argument("--etl-dir", required=True)
    ev.add_argument("--format", required=True)
    ev.add_argument("--size", type=int, default=28)
    ev.add_argument("--device", default="auto")
    ev.set_defaults(handler=cmd_hiragana_eval)


def _add_parse(commands) -> None:
    parse = commands.add_parser("parse", help="parse saved pages into JSON lines (one record an item)")
    sub = parse.add_subparsers(dest="parse_command", required=True, metavar="SITE")
    bokete = sub.add_parser("bokete", help="bokete pages, any known layout (auto-detected)")
    bokete.add_argument("pages", nargs="+", metavar="PAGE.html")
    bokete.add_argument("--url", help="the URL the page was saved from (links and source_url resolve against it)")
    bokete.set_defaults(handler=cmd_parse_bokete)


def _add_snapshot(commands) -> None:
    snapshot = commands.add_parser("snapshot", help="build the bundled OFFLINE snapshot of a site")
    sub = snapshot.add_subparsers(dest="snapshot_command", required=True, metavar="SITE")
    bokete = sub.add_parser("bokete", help="bokete: pages in three layouts, sample photos, bokes written for neta")
    bokete.add_argument("--out", required=True, help="directory to (re)build")
    bokete.add_argument("--seed", type=int, default=0)
    bokete.set_defaults(handler=cmd_snapshot_bokete)


def _add_site_options(parser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="live site root, e.g. https://bokete.jp")
    where.add_argument("--snapshot", help="offline snapshot directory, served on 127.0.0.1 while the stage runs")
    parser.add_argument("--allow-host", action="append", default=[], help="another host that may be fetched")
    parser.add_argument("--cache", required=True, help="SQLite HTTP cache shared by crawl and downloads")
    parser.add_argument("--rate-limit", type=float, default=1.0, help="requests/s to a live host")
    parser.add_argument("--loopback-rate-limit", type=float, default=0.0, help="requests/s to 127.0.0.1; 0 = off")
    parser.add_argument("--contact", required=True, help="e-mail or URL for the User-Agent")
    parser.add_argument("--max-failure-ratio", type=float, default=0.1)


def _add_scrape(commands) -> None:
    scrape = commands.add_parser("scrape", help="crawl a site politely (robots.txt, rate limit, cache, resume)")
    sub = scrape.add_subparsers(dest="scrape_command", required=True, metavar="SITE")
    bokete = sub.add_parser("bokete", help="bokete odai and bokes -> bokes.csv")
    _add_site_options(bokete)
    bokete.add_argument("--start", action="append", required=True, help="start path, e.g. /boke/hot (repeatable)")
    bokete.add_argument("--out", required=True, help="bokes.csv to write")
    bokete.add_argument("--max-pages", type=int, default=400)
    bokete.add_argument("--max-bokes", type=int, default=5000)
    bokete.add_argument("--min-stars", type=int, default=0)
    bokete.set_defaults(handler=cmd_scrape_bokete)

    download = commands.add_parser("download", help="download the images a crawl found, checked and deduplicated")
    sub = download.add_subparsers(dest="download_command", required=True, metavar="SITE")
    bokete = sub.add_parser("bokete", help="odai photos of bokes.csv -> images/<sha256>.<ext> + manifest.csv")
    _add_site_options(bokete)
    bokete.add_argument("--bokes", required=True, help="bokes.csv from `neta scrape bokete`")
    bokete.add_argument("--manifest", required=True, help="manifest.csv to write; images go beside it")
    bokete.add_argument("--workers", type=int, default=4)
    bokete.add_argument("--max-bytes", type=int, default=20 * 2**20)
    bokete.set_defaults(handler=cmd_download_bokete)


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
