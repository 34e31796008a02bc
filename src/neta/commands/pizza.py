"""`neta pizza …`: recipes from the crawled menu, and the rotation/flip augmentation."""

from __future__ import annotations

import json
import logging

from neta.errors import NetaError
from neta.settings import add_settings_options, read_settings

log = logging.getLogger("neta")

# The config parts each command reads (its rule passes exactly these as --settings).
RECIPES_KEYS = ("pizza.recipes", "pizza.max_failure_ratio")
AUGMENT_KEYS = ("device", "pizza.augment", "pizza.max_failure_ratio")


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
    from neta.pizza.recipes import encode_recipes

    settings = read_settings(args)["pizza"]
    recipes = settings["recipes"]
    summary = encode_recipes(args.menu, args.out, slots=recipes["slots"], aliases=recipes["aliases"],
                             truncate=recipes["truncate"], max_failure_ratio=settings["max_failure_ratio"])
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


def cmd_pizza_augment(args) -> int:
    from neta.pizza.augment import augment_pizzas
    from neta.pizza.photos import pizza_photos
    from neta.pizza.recipes import read_recipes

    settings = read_settings(args)
    augment, max_ratio = settings["pizza"]["augment"], settings["pizza"]["max_failure_ratio"]
    photos, failures = pizza_photos(args.menu, args.manifest, read_recipes(args.recipes))
    total = len(photos) + len(failures)
    check_failures("augment", failures, total, max_ratio, args.out)
    summary = augment_pizzas(
        [(photo.pizza_id, photo.image_path, photo.recipe) for photo in photos],
        args.out,
        size=augment["size"],
        angle_step=augment["angle_step"],
        flip=augment["flip"],
        order=augment["order"],
        top_view_x=augment["top_view_x"],
        device=settings["device"],
        threads=args.threads,
        max_failures=int(max_ratio * total) - len(failures),
    )
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
    return 0


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
