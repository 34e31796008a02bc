"""`neta hiragana …`: train the recognizer, report on its test split, score it on any ETL files."""

from __future__ import annotations

import json
import logging

from neta.commands.batch import EXIT_STATUS, print_batch
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
TRAIN_KEYS = ("seed", "device", "hiragana.train", "hiragana.baseline", "hiragana.augment")
BN_CNN_TRAIN_KEYS = ("seed", "device", "hiragana.size", "hiragana.bn_cnn", "hiragana.augment")
REPORT_KEYS = ("device",)
EVAL_KEYS = ("device",)
PREDICT_KEYS = ("device", "images")


def cmd_hiragana_train(args) -> int:
    from neta.hiragana.config import HiraganaAugment, HiraganaBaseline, HiraganaTrain
    from neta.hiragana.train import train_hiragana

    settings = read_settings(args)
    summary = train_hiragana(
        args.etl,
        args.out,
        train=HiraganaTrain.of(settings),
        baseline=HiraganaBaseline.of(settings),
        augment=HiraganaAugment.of(settings),
        seed=settings["seed"],
        device=settings["device"],
        threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_hiragana_train_bn_cnn(args) -> int:
    from neta.hiragana.config import HiraganaAugment, HiraganaBnCnn
    from neta.hiragana.train_bn_cnn import train_bn_cnn

    settings = read_settings(args)
    summary = train_bn_cnn(
        args.etl,
        args.out,
        bn_cnn=HiraganaBnCnn.of(settings),
        augment=HiraganaAugment.of(settings),
        augment_size=settings["hiragana"]["size"],
        seed=settings["seed"],
        device=settings["device"],
        threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_hiragana_report(args) -> int:
    from neta.device import set_threads
    from neta.hiragana.evaluate import evaluate_hiragana

    settings = read_settings(args)
    set_threads(args.threads)
    metrics = evaluate_hiragana(
        args.model,
        args.etl,
        metrics_path=args.metrics,
        confusion_path=args.confusion,
        filters_path=args.filters,
        errors_path=args.errors,
        device=settings["device"],
        bn_cnn_path=args.bn_cnn_model,
        bn_cnn_etl_path=args.bn_cnn_etl,
        heldout_path=args.heldout_etl,
        bn_cnn_heldout_path=args.bn_cnn_heldout_etl,
        layouts=dict(args.layouts),
        workers=args.threads,
    )
    log.info("CNN test accuracy %.4f, baseline %.4f%s", metrics["cnn"]["accuracy"], metrics["baseline"]["accuracy"],
             f", BN-CNN {metrics['bn_cnn']['accuracy']:.4f}" if "bn_cnn" in metrics else "")
    return 0


def cmd_hiragana_eval(args) -> int:
    from neta.hiragana.evaluate import evaluate_etl_dir

    settings = read_settings(args)
    metrics = evaluate_etl_dir(args.model, args.etl_dir, args.format, device=settings["device"])
    print(json.dumps(metrics, ensure_ascii=False, sort_keys=True, indent=2))
    return 0


def cmd_hiragana_predict(args) -> int:
    from neta.hiragana.predict import predict_images
    from neta.images import ImageLimits

    settings = read_settings(args)
    rows = predict_images(args.model, args.images, top=5, device=settings["device"], limits=ImageLimits.of(settings))
    return print_batch(rows, "pictures")


def register(commands, verbs) -> None:
    hiragana = commands.add_parser("hiragana", help="train and evaluate the hiragana recognizer")
    sub = hiragana.add_subparsers(dest="hiragana_command", required=True, metavar="ACTION")

    train = sub.add_parser("train", help="train the CNN and the softmax baseline")
    train.add_argument("--etl", required=True, help="etl_28.h5 from `neta etl convert`")
    train.add_argument("--out", required=True, help="checkpoint to write (model.pt)")
    train.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(train, TRAIN_KEYS)
    train.set_defaults(handler=cmd_hiragana_train)

    train_bn = sub.add_parser("train-bn-cnn", help="train the batch-normalised CNN (hiragana.model: bn_cnn)")
    train_bn.add_argument("--etl", required=True,
                          help="etl_bn_cnn.h5: the records at hiragana.bn_cnn.size (`neta etl convert-bn-cnn`)")
    train_bn.add_argument("--out", required=True, help="checkpoint to write (bn_cnn.pt)")
    train_bn.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(train_bn, BN_CNN_TRAIN_KEYS)
    train_bn.set_defaults(handler=cmd_hiragana_train_bn_cnn)

    report = sub.add_parser("report", help="the workflow's evaluation: metrics.json and figures of the test split")
    report.add_argument("--model", required=True, help="model.pt (the tutorial CNN and the softmax baseline)")
    report.add_argument("--bn-cnn-model", default=None,
                        help="bn_cnn.pt of `neta hiragana train-bn-cnn`: scored beside model.pt's CNN")
    report.add_argument("--etl", required=True, help="etl_28.h5 (its test split is used)")
    report.add_argument("--bn-cnn-etl", default=None,
                        help="the same records at the BN-CNN's size (etl_bn_cnn.h5; default: --etl)")
    report.add_argument("--bn-cnn-heldout-etl", default=None,
                        help="the held-out-style records at the BN-CNN's size (default: --heldout-etl)")
    report.add_argument("--metrics", required=True, help="metrics.json to write")
    report.add_argument("--confusion", required=True, help="confusion.png to write")
    report.add_argument("--filters", required=True, help="filters.png to write")
    report.add_argument("--errors", required=True, help="errors.png to write")
    report.add_argument(
        "--heldout-etl",
        default=None,
        help="etl_28.h5 of held-out style families (`neta etl synth --heldout-styles`, then convert): "
        "adds heldout_style_accuracy to metrics.json",
    )
    report.add_argument(
        "--layouts",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "DIR"),
        help="a writer set written by `neta etl relayout`, scored in every layout (repeatable)",
    )
    report.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(report, REPORT_KEYS)
    report.set_defaults(handler=cmd_hiragana_report)

    score = sub.add_parser("eval", help="print JSON metrics of a model on any directory of ETL files (writes nothing)")
    score.add_argument("--model", required=True)
    score.add_argument("--etl-dir", required=True)
    score.add_argument("--format", required=True)
    add_settings_options(score, EVAL_KEYS)
    score.set_defaults(handler=cmd_hiragana_eval)

    predict = sub.add_parser(
        "predict", help="print the top-5 characters of pictures of one handwritten hiragana",
        description='One JSON line a picture, in the order given: {"image", "top5"}. ' + EXIT_STATUS)
    predict.add_argument("--model", required=True,
                         help="bn_cnn.pt of `neta hiragana train-bn-cnn` or model.pt of `neta hiragana train`")
    predict.add_argument("images", nargs="+", metavar="IMAGE",
                         help="PNG/JPEG: dark ink on light paper, up to images.max_pixels (--max-pixels)")
    add_settings_options(predict, PREDICT_KEYS)
    predict.set_defaults(handler=cmd_hiragana_predict)
