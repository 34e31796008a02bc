"""A small ``augmented.h5`` + ``recipes.json`` pair in the real layouts, drawn in a blink.

Six "pizzas" on a dough disc, each a different set of ingredients drawn as coloured shapes a
recipe-aware model can tell apart even at 32 x 32 (a red sauce disc, white cheese blobs, dark-red
pepperoni discs, pink ham squares, yellow pineapple triangles, brown bacon strips, green basil dots),
rotated to ``angles`` evenly spaced angles and mirrored, exactly as :mod:`neta.pizza.augment` orders
its rows (pizza by pizza; for each angle the rotation, then its mirror). Toppings are placed by a
fixed seed, so the files are the same every call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from neta.atomic import write_json
from neta.h5io import write_h5

SLOTS = 9
# what each ingredient looks like: (shape, RGB, items a portion, radius as a fraction of the pizza's)
LOOKS = {
    "ананас": ("triangle", (250, 215, 40), 5, 0.13),
    "базилик": ("dot", (40, 150, 40), 8, 0.06),
    "бекон": ("strip", (120, 70, 30), 4, 0.16),
    "ветчина": ("square", (245, 140, 170), 5, 0.12),
    "моцарелла": ("blob", (250, 250, 240), 6, 0.11),
    "пепперони": ("disc", (150, 20, 20), 4, 0.13),
    "томатный соус": ("sauce", (205, 50, 30), 1, 0.85),
}
PIZZAS = (
    ("double-pepperoni", "Двойная пепперони", ["томатный соус", "пепперони", "пепперони", "моцарелла"]),
    ("gavayskaya", "Гавайская", ["томатный соус", "ветчина", "ананас", "моцарелла"]),
    ("margarita", "Маргарита", ["томатный соус", "моцарелла", "базилик"]),
    ("bekon", "Бекон", ["томатный соус", "бекон", "моцарелла"]),
    ("vetchina-bazilik", "Ветчина и базилик", ["ветчина", "базилик", "моцарелла"]),
    ("pepperoni-ananas", "Пепперони с ананасом", ["пепперони", "ананас"]),
)
DRAW = 128  # pixels of the drawing, before rotation and the resize to ``size``
DOUGH, BACKGROUND = (225, 185, 120), (255, 255, 255)


def _draw_pizza(ingredients: list[str], rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (DRAW, DRAW), BACKGROUND)
    draw = ImageDraw.Draw(image)
    c, radius = DRAW / 2, DRAW * 0.46
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), fill=DOUGH)
    # sauce first so the toppings lie on it, whatever its place in the recipe
    for name in sorted(ingredients, key=lambda n: LOOKS[n][0] != "sauce"):
        shape, colour, items, size = LOOKS[name]
        r = radius * size
        for _ in range(items):
            if shape == "sauce":
                x = y = c
            else:  # uniformly inside the disc, away from its rim
                rho, phi = (radius - r) * np.sqrt(rng.uniform(0.05, 1)), rng.uniform(0, 2 * np.pi)
                x, y = c + rho * np.cos(phi), c + rho * np.sin(phi)
            if shape in ("sauce", "disc", "dot", "blob"):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
            elif shape == "square":
                draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
            elif shape == "strip":
                draw.rectangle((x - r, y - r / 3, x + r, y + r / 3), fill=colour)
            else:
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
    return image


def write_pizza_data(folder: str | Path, *, size: int = 32, angles: int = 12, pizzas: int = len(PIZZAS)) -> dict:
    """Write ``augmented.h5`` and ``recipes.json`` into ``folder``; ``angles`` evenly spaced rotations
    (360 must divide by it) of each of the first ``pizzas`` pizzas, each also mirrored.

    Returns ``{"augmented_h5", "recipes_json", "recipes" (the JSON object), "angle_step"}``.
    """
    if 360 % angles:
        raise ValueError(f"angles must divide 360, got {angles}")
    folder = Path(folder)
    step = 360 // angles
    chosen = PIZZAS[:pizzas]
    vocabulary = ["", *sorted({name for _, _, names in chosen for name in names})]
    recipes = {"slots": SLOTS, "vocabulary": vocabulary, "aliases": {}, "custom": [], "skipped": [], "pizzas": [
        {"pizza_id": pid, "name": name, "ingredients": names,
         "slots": [vocabulary.index(n) for n in names] + [0] * (SLOTS - len(names))}
        for pid, name, names in sorted(chosen)
    ]}
    rng = np.random.default_rng(7)
    images, rows = [], []
    for pizza in recipes["pizzas"]:
        drawing = _draw_pizza(pizza["ingredients"], rng)
        for angle in range(0, 360, step):
            rotated = drawing.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=BACKGROUND)
            for flipped in (False, True):
                view = rotated.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flipped else rotated
                images.append(np.asarray(view.resize((size, size), Image.Resampling.BOX)).transpose(2, 0, 1))
                rows.append((pizza["pizza_id"], angle, flipped, pizza["slots"]))
    per_pizza = 2 * angles
    augmented = folder / "augmented.h5"
    write_h5(
        augmented,
        {
            "images": np.stack(images).astype(np.uint8),
            "recipes": np.eye(len(vocabulary), dtype=np.uint8)[np.array([r[3] for r in rows])],
            "pizza_ids": np.array([r[0] for r in rows], dtype=str),
            "angles": np.array([r[1] for r in rows], dtype=np.int16),
            "flipped": np.array([r[2] for r in rows], dtype=bool),
        },
        stage="augment_pizza",
        params={"size": size, "angle_step": step, "flip": True, "order": "rotate_then_resize", "top_view_x": 0},
        attrs={"size": size, "order": "rotate_then_resize", "angle_step": step, "flip": True, "top_view_x": 0,
               "images_per_pizza": per_pizza, "row_order": "pizza by pizza; for each angle: rotation, mirror"},
        storage={"images": {"chunk_rows": per_pizza, "compression": "lzf"}},
    )
    recipes_json = folder / "recipes.json"
    write_json(recipes_json, recipes)
    return {"augmented_h5": augmented, "recipes_json": recipes_json, "recipes": recipes, "angle_step": step}
