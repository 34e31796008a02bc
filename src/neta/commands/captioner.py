"""`neta captioner prepare|train|evaluate` (the caption generator's stages) and `neta caption` (new photos)."""

from __future__ import annotations

from neta.commands.batch import EXIT_STATUS, print_batch
from neta.commands.crawling import print_summary
from neta.settings import add_settings_options, read_settings

# The config parts each command reads (its rule passes exactly these as --settings).
PREPARE_KEYS = ("seed", "captioner.dataset", "captioner.cans", "captioner.coco", "captioner.karpathy",
                "captioner.oogiri_go", "captioner.language", "captioner.max_images", "captioner.max_missing_ratio",
                "captioner.split", "images")
TRAIN_KEYS = ("seed", "device", "captioner.dataset", "captioner.language", "captioner.pairing", "captioner.top_k",
              "captioner.star_weighting", "captioner.vocab", "captioner.model", "captioner.train")
EVALUATE_KEYS = ("seed", "device", "captioner.decode")
CAPTION_KEYS = ("device", "captioner.decode", "images")


def cmd_captioner_prepare(args) -> int:
    from neta.boke.config import CocoSettings, KarpathySettings, OogiriGoSettings, SplitSettings
    from neta.boke.prepare import prepare_captions
    from neta.images import ImageLimits

    settings = read_settings(args)
    captioner = settings["captioner"]
    return print_summary(prepare_captions(
        captioner["dataset"], args.out, manifest_out=args.manifest_out, bokes_csv=args.bokes,
        bokete_manifest=args.images_manifest, cans=captioner["cans"], coco=CocoSettings.of(settings),
        karpathy=KarpathySettings.of(settings), oogiri_go=OogiriGoSettings.of(settings),
        language=captioner["language"], split=SplitSettings.of(settings),
        seed=settings["seed"], max_images=captioner["max_images"], max_missing_ratio=captioner["max_missing_ratio"],
        limits=ImageLimits.of(settings),
    ))


def cmd_captioner_train(args) -> int:
    from neta.boke.config import ModelSettings, TrainSettings, VocabSettings
    from neta.boke.tokens import resolve_language
    from neta.boke.train import train_captioner

    settings = read_settings(args)
    captioner = settings["captioner"]
    return print_summary(train_captioner(
        args.captions, args.features, model_out=args.model, vocab_out=args.vocab, log_csv=args.log_csv,
        loss_png=args.loss_png, language=resolve_language(captioner["dataset"], captioner["language"]),
        pairing=captioner["pairing"], top_k=captioner["top_k"], star_weighting=captioner["star_weighting"],
        vocab=VocabSettings.of(settings),
        model=ModelSettings.of(settings), train=TrainSettings.of(settings), seed=settings["seed"],
        device=settings["device"], threads=args.threads,
    ))


def cmd_captioner_evaluate(args) -> int:
    from neta.boke.config import DecodeSettings
    from neta.boke.evaluate import evaluate_captioner

    settings = read_settings(args)
    return print_summary(evaluate_captioner(
        args.model, args.captions, args.features, metrics_out=args.metrics, samples_out=args.samples,
        gallery_out=args.gallery, decoding=DecodeSettings.of(settings), seed=settings["seed"],
        device=settings["device"], threads=args.threads,
    ))


def cmd_caption(args) -> int:
    from neta.boke.caption_photos import caption_photos
    from neta.boke.config import DecodeSettings
    from neta.images import ImageLimits

    settings = read_settings(args)
    return print_batch(caption_photos(args.model, args.images, decoding=DecodeSettings.of(settings),
                                      device=settings["device"], limits=ImageLimits.of(settings),
                                      weights_file=args.weights_file), "photos")


def register(commands, verbs) -> None:
    captioner = commands.add_parser("captioner", help="the caption / boke generator's stages")
    sub = captioner.add_subparsers(dest="captioner_command", required=True, metavar="ACTION")

    prepare = sub.add_parser("prepare", help="a caption dataset -> the caption table (and an image manifest)")
    prepare.add_argument("--out", required=True, help="captions.csv to write")
    prepare.add_argument("--manifest-out",
                         help="bokete_can, coco, karpathy, oogiri_go: the image manifest.csv to write")
    prepare.add_argument("--bokes", help="bokete: bokes.csv of the crawl")
    prepare.add_argument("--images-manifest", help="bokete: the download manifest.csv of its photos")
    add_settings_options(prepare, PREPARE_KEYS)
    prepare.set_defaults(handler=cmd_captioner_prepare)

    train = sub.add_parser("train", help="train Show and Tell on the caption table and features.h5")
    train.add_argument("--captions", required=True, help="captions.csv of `neta captioner prepare`")
    train.add_argument("--features", required=True, help="features.h5 of `neta features`")
    train.add_argument("--model", required=True, help="captioner.pt to write")
    train.add_argument("--vocab", required=True, help="vocab.json to write")
    train.add_argument("--log-csv", required=True, help="train_log.csv to write (loss an epoch)")
    train.add_argument("--loss-png", required=True, help="loss.png to write")
    train.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(train, TRAIN_KEYS)
    train.set_defaults(handler=cmd_captioner_train)

    evaluate = sub.add_parser("evaluate", help="beam-search the test photos: BLEU, CIDEr-D, samples, gallery")
    evaluate.add_argument("--model", required=True, help="captioner.pt of `neta captioner train`")
    evaluate.add_argument("--captions", required=True, help="captions.csv (its test split is scored)")
    evaluate.add_argument("--features", required=True, help="features.h5 the model was trained on")
    evaluate.add_argument("--metrics", required=True, help="metrics.json to write")
    evaluate.add_argument("--samples", required=True, help="samples.json to write (top captions a test photo)")
    evaluate.add_argument("--gallery", required=True, help="gallery.html to write")
    evaluate.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(evaluate, EVALUATE_KEYS)
    evaluate.set_defaults(handler=cmd_captioner_evaluate)

    caption = commands.add_parser(
        "caption", help="top captions of new photos, JSON lines",
        description='One JSON line a photo, in the order given: {"image", "captions"}. ' + EXIT_STATUS)
    caption.add_argument("--model", required=True, help="captioner.pt")
    caption.add_argument("--weights-file", help="the backbone's weights file, where it is not found by itself")
    caption.add_argument("images", nargs="+", metavar="IMAGE",
                         help="photos Pillow reads (JPEG, PNG, WebP, ...), up to images.max_pixels (--max-pixels)")
    add_settings_options(caption, CAPTION_KEYS)
    caption.set_defaults(handler=cmd_caption)
