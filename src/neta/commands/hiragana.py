"""`neta hiragana …`: train, evaluate and score the hiragana recognizer."""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger("neta")


def _schedule(text: str) -> list[list[float]]:
    """Parse "0:1e-3,1000:1e-4" into [[0, 1e-3], [1000, 1e-4]]."""
    try:
        pairs = [item.split(":") for item in text.split(",") if item]
        return [[int(step), float(value)] for step, value in pairs]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"schedule {text!r}: expected STEP:VALUE pairs separated by commas, e.g. 0:1e-3,1000:1e-4"
        ) from exc


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


def register(commands) -> None:
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
