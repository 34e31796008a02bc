"""`neta pizza …`: recipes, the rotation/flip augmentation, the generators and their evaluation."""

from __future__ import annotations

import json
import logging

from neta.errors import NetaError
from neta.pizza.config import ARCHITECTURE_KEYS
from neta.pizza.kinds import CVAE_VARIANTS, GENERATOR_KINDS
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
RECIPES_KEYS = ("pizza.recipes", "pizza.max_failure_ratio")
AUGMENT_KEYS = ("device", "pizza.augment", "pizza.max_failure_ratio")
_MODELS = "pizza.models"
_TRAINING = ("seed", "device", f"{_MODELS}.precision", f"{_MODELS}.holdout_every", f"{_MODELS}.holdout_pizzas",
             f"{_MODELS}.kl_warmup_epochs", f"{_MODELS}.progress_every")
# A family's own part of pizza.models (its architecture and its training section), so a change to one
# family retrains that one only. Keyed by the family (GeneratorKind.section).
TRAIN_KEYS = {
    family: (*_TRAINING, *(f"{_MODELS}.{key}" for key in architecture), f"{_MODELS}.{family}")
    for family, architecture in ARCHITECTURE_KEYS.items()
}
CLASSIFIER_KEYS = ("seed", "device", f"{_MODELS}.holdout_every", f"{_MODELS}.classifier")
EVALUATE_KEYS = ("seed", "device", f"{_MODELS}.holdout_every", f"{_MODELS}.holdout_pizzas",
                 f"{_MODELS}.kid_images", f"{_MODELS}.samples_per_recipe")
GENERATE_KEYS = ("seed", "device")


def check_failures(what: str, failures: list[dict], total: int, max_ratio: float, out) -> None:
    """Log each failed pizza; stop, writing nothing, when more than ``max_ratio`` of ``total`` failed."""
    for failure in failures:
        log.warning("%s: skipped %s (%s): %s", what, failure["pizza_id"], failure.get("name", ""), failure["reason"])
    ratio = len(failures) / total if total else 1.0
    if ratio > max_ratio:
        listed = "; ".join(f"{f['pizza_id']}: {f['reason']}" for f in failures[:10])
        raise NetaError(f"{what}: {len(failures)} of {total} pizzas failed ({ratio:.0%} > pizza.max_failure_ratio "
                        f"{max_ratio:.0%}); {out} not written. {listed}")


def cmd_pizza_recipes(args) -> int:
    from neta.pizza.config import RecipeSettings
    from neta.pizza.recipes import encode_recipes

    settings = read_settings(args)
    summary = encode_recipes(args.menu, args.out, settings=RecipeSettings.of(settings),
                             max_failure_ratio=settings["pizza"]["max_failure_ratio"])
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_augment(args) -> int:
    from neta.pizza.augment import augment_pizzas
    from neta.pizza.config import AugmentSettings
    from neta.pizza.photos import pizza_photos
    from neta.pizza.recipes import read_recipes

    settings = read_settings(args)
    max_ratio = settings["pizza"]["max_failure_ratio"]
    photos, failures = pizza_photos(args.menu, args.manifest, read_recipes(args.recipes))
    total = len(photos) + len(failures)
    check_failures("augment", failures, total, max_ratio, args.out)
    summary = augment_pizzas(
        [(photo.pizza_id, photo.image_path, photo.recipe) for photo in photos],
        args.out,
        augment=AugmentSettings.of(settings),
        device=settings["device"],
        threads=args.threads,
        max_failures=int(max_ratio * total) - len(failures),
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_train(args) -> int:
    from neta.pizza.config import TrainingSettings, architecture_of
    from neta.pizza.kinds import generator_kind
    from neta.pizza.train import train_pizza_model

    settings = read_settings(args)
    models = settings["pizza"]["models"]
    family = args.model_family
    kind = generator_kind(CVAE_VARIANTS[args.variant] if family == "cvae" else family)
    summary = train_pizza_model(
        kind.name, args.augmented, args.recipes, model_out=args.out, log_csv=args.log_csv, loss_png=args.loss_png,
        progress_gif=args.progress, architecture=architecture_of(kind, models),
        training=TrainingSettings.of(settings, f"{_MODELS}.{family}"), holdout_every=models["holdout_every"],
        holdout_pizzas=models["holdout_pizzas"], kl_warmup_epochs=models["kl_warmup_epochs"],
        progress_every=models["progress_every"], seed=settings["seed"], device=settings["device"],
        precision=models["precision"], threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_classifier(args) -> int:
    from neta.pizza.config import TrainingSettings
    from neta.pizza.judge import train_ingredient_classifier

    settings = read_settings(args)
    summary = train_ingredient_classifier(
        args.augmented, model_out=args.out, holdout_every=settings["pizza"]["models"]["holdout_every"],
        training=TrainingSettings.of(settings, f"{_MODELS}.classifier"), seed=settings["seed"],
        device=settings["device"], threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_evaluate(args) -> int:
    from neta.pizza.evaluate import evaluate_pizza

    settings = read_settings(args)
    models = settings["pizza"]["models"]
    named = {}
    for item in args.models:
        name, _, path = item.partition("=")
        if not path:
            from neta.layout import Layout

            example = GENERATOR_KINDS[0]
            raise NetaError(f"--models {item!r}: give NAME=PATH, e.g. {example.name}="
                            f"{Layout.results('pizza', example.checkpoint)}")
        named[name] = path
    summary = evaluate_pizza(
        named, args.classifier, args.augmented, args.recipes, metrics_out=args.metrics, samples_dir=args.samples,
        holdout_every=models["holdout_every"], holdout_pizzas=models["holdout_pizzas"],
        kid_images=models["kid_images"], samples_per_recipe=models["samples_per_recipe"],
        seed=settings["seed"], device=settings["device"], threads=args.threads,
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_generate(args) -> int:
    from pathlib import Path

    from neta.pizza.generate import generate_pizza

    settings = read_settings(args)
    recipes = args.recipes or Path(args.model).parent / "recipes.json"
    summary = generate_pizza(args.model, args.ingredients, recipes, args.out, count=args.count,
                             seed=settings["seed"], device=settings["device"])
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def _training_files(parser, *, recipes: bool = True) -> None:
    parser.add_argument("--augmented", required=True, help="augmented.h5 of `neta pizza augment`")
    if recipes:
        parser.add_argument("--recipes", required=True, help="recipes.json of `neta pizza recipes`")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")


def register(commands, verbs) -> None:
    pizza = commands.add_parser("pizza", help="recipes and augmented images of the pizza generator")
    sub = pizza.add_subparsers(dest="pizza_command", required=True, metavar="ACTION")

    recipes = sub.add_parser("recipes", help="menu.csv -> recipes.json (ingredient vocabulary, slots a pizza)")
    recipes.add_argument("--menu", required=True, help="menu.csv from `neta scrape dodo`")
    recipes.add_argument("--out", required=True, help="recipes.json to write")
    add_settings_options(recipes, RECIPES_KEYS)
    recipes.set_defaults(handler=cmd_pizza_recipes)

    augment = sub.add_parser("augment", help="top views rotated and flipped -> augmented.h5 (720 images a pizza)")
    augment.add_argument("--menu", required=True, help="menu.csv from `neta scrape dodo`")
    augment.add_argument("--manifest", required=True, help="images/manifest.csv from `neta download dodo`")
    augment.add_argument("--recipes", required=True, help="recipes.json from `neta pizza recipes`")
    augment.add_argument("--out", required=True, help="augmented.h5 to write")
    augment.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads:)")
    add_settings_options(augment, AUGMENT_KEYS)
    augment.set_defaults(handler=cmd_pizza_augment)

    for family, what in (("cvae", "a compact recipe-conditioned VAE (--variant a: recipe after the convolutions, "
                                  "b: an extra channel)"),
                         ("cvae_original", "the original's CVAE (latent 512, dense 1024), the reproduction"),
                         ("gan", "the DCGAN"), ("cvae_gan", "the CVAE-GAN")):
        train = sub.add_parser(f"train-{family.replace('_', '-')}", help=f"train {what}")
        if family == "cvae":
            train.add_argument("--variant", required=True, choices=sorted(CVAE_VARIANTS))
        _training_files(train)
        train.add_argument("--out", required=True, help="the model checkpoint (.pt) to write")
        train.add_argument("--log-csv", required=True, help="losses an epoch (CSV)")
        train.add_argument("--loss-png", required=True, help="the loss plot")
        train.add_argument("--progress", required=True, help="progress.gif: a sample grid every progress_every epochs")
        add_settings_options(train, TRAIN_KEYS[family])
        train.set_defaults(handler=cmd_pizza_train, model_family=family)

    classifier = sub.add_parser("classifier", help="train the ingredient classifier that judges recipe fidelity")
    _training_files(classifier, recipes=False)
    classifier.add_argument("--out", required=True, help="classifier.pt to write")
    add_settings_options(classifier, CLASSIFIER_KEYS)
    classifier.set_defaults(handler=cmd_pizza_classifier)

    evaluate = sub.add_parser("evaluate", help="held-out losses, recipe fidelity and sample grids of the generators")
    _training_files(evaluate)
    evaluate.add_argument("--models", required=True, nargs="+", metavar="NAME=PATH", help="model checkpoints")
    evaluate.add_argument("--classifier", required=True, help="classifier.pt of `neta pizza classifier`")
    evaluate.add_argument("--metrics", required=True, help="metrics.json to write")
    evaluate.add_argument("--samples", required=True, help="folder of the sample grids")
    add_settings_options(evaluate, EVALUATE_KEYS)
    evaluate.set_defaults(handler=cmd_pizza_evaluate)

    generate = sub.add_parser("generate", help="pizzas of a recipe you name, as one picture (a grid)")
    generate.add_argument("--model", required=True, help="a generator checkpoint (cvae_a.pt, gan.pt, …)")
    generate.add_argument("--ingredients", required=True, help='comma-separated, e.g. "пепперони,моцарелла"')
    generate.add_argument("--out", required=True,
                          help="the picture to write, in the format its suffix names: .png, .jpg/.jpeg or .webp")
    generate.add_argument("--recipes", help="recipes.json (default: the one beside the model)")
    generate.add_argument("--count", type=int, default=8, help="pizzas to draw")
    add_settings_options(generate, GENERATE_KEYS)
    generate.set_defaults(handler=cmd_pizza_generate)
