"""Pizza photos RENDERED for neta's offline Dodo Pizza snapshot, drawn from each recipe.

These are not photographs: no image bytes of Dodo Pizza are shipped or fetched. Each pizza is drawn
from its ingredient list as the original's photos showed it from above: a dough disc with a baked
crust, the sauce in its colour (tomato red, cream white, BBQ brown, … by the sauce ingredient), and
every topping with its own shape, colour and count (pepperoni discs, olive rings, basil leaves,
mushroom slices, ham squares, onion rings, pineapple chunks, cheese blobs, …: ``TOPPINGS``, keyed by
a normalised word stem). An ingredient the table does not know gets a shape, colour and count
derived from a hash of its name, so every recipe renders and two recipes that differ in one
ingredient look different. Positions are random but come from the seed, the pizza and the
ingredient only, so the same seed gives the same bytes and adding one ingredient leaves the others
where they were.

The 2017 popup showed three 710×380 photos a pizza, the third a product shot whose top view is the
380×380 square at x=165, y=0 (what the original project cropped): :func:`popup_photos` makes the
three from one top view. The 2023 menu shows square top views in several sizes.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RGB = tuple[int, int, int]

TOP_VIEW_SIDE = 584                  # side of the rendered top view (the 2023 menu's largest photo)
POPUP_PHOTO_SIZE = (710, 380)        # the 2017 popup's photos
TOP_VIEW_BOX = (165, 0, 545, 380)    # the top view inside the third popup photo
_SUPERSAMPLE = 2                     # drawn at twice the size, then reduced: smooth edges
_BACKGROUND: RGB = (247, 245, 241)
_DOUGH: RGB = (236, 204, 146)
_CRUST: RGB = (205, 146, 76)
_JPEG_QUALITY = 90
_PIZZA_RADIUS = 0.47                 # of the top view's side


@dataclass(frozen=True)
class Drawing:
    """How one topping looks: ``count`` pieces of ``shape`` about ``size`` × the pizza radius."""

    shape: str
    colour: RGB
    count: int
    size: float
    accent: RGB | None = None   # second colour: a rind, a rim, seeds, a stem
    layer: int = 2              # 1 under the toppings (cheese), 2 toppings, 3 on top (herbs, specks)


# Normalised word stem -> drawing. Matching takes the longest stem found in an ingredient, so
# "сыра моцарелла" is mozzarella, not generic cheese, and "острый перец халапеньо" is jalapeño.
TOPPINGS: dict[str, Drawing] = {
    "пепперони": Drawing("disc", (172, 38, 30), 12, 0.085, accent=(120, 22, 16)),
    "колбас": Drawing("disc", (150, 92, 70), 14, 0.065, accent=(104, 56, 40)),
    "чоризо": Drawing("disc", (170, 64, 34), 14, 0.055, accent=(118, 40, 20)),
    "митбол": Drawing("disc", (122, 72, 46), 10, 0.06, accent=(90, 50, 30)),
    "мортадел": Drawing("disc", (238, 172, 170), 8, 0.09, accent=(252, 228, 226)),
    "моцарел": Drawing("blob", (250, 243, 214), 16, 0.11, layer=1),
    "сыр": Drawing("blob", (250, 226, 150), 12, 0.08, layer=1),
    "чеддер": Drawing("blob", (244, 178, 62), 10, 0.06, layer=1),
    "блю чиз": Drawing("blob", (226, 232, 224), 9, 0.05, accent=(90, 110, 120), layer=1),
    "пармезан": Drawing("speck", (252, 246, 224), 60, 0.014, layer=3),
    "брынз": Drawing("cube", (251, 251, 246), 16, 0.06, accent=(214, 214, 204)),
    "цыпл": Drawing("chunk", (232, 200, 150), 12, 0.075, accent=(196, 152, 100)),
    "куриц": Drawing("chunk", (232, 200, 150), 12, 0.075, accent=(196, 152, 100)),
    "ветчин": Drawing("square", (236, 140, 150), 12, 0.08, accent=(214, 108, 120)),
    "бекон": Drawing("strip", (196, 76, 74), 10, 0.09, accent=(246, 212, 200)),
    "говядин": Drawing("chunk", (112, 62, 40), 28, 0.05),
    "фарш": Drawing("chunk", (112, 62, 40), 28, 0.05),
    "кревет": Drawing("crescent", (246, 140, 108), 11, 0.09, accent=(255, 204, 182)),
    "шампиньон": Drawing("mushroom", (216, 200, 178), 12, 0.085, accent=(168, 146, 120)),
    "гриб": Drawing("mushroom", (196, 176, 150), 12, 0.085, accent=(150, 126, 100)),
    "лук": Drawing("ring", (150, 62, 130), 12, 0.08),
    "маслин": Drawing("ring", (36, 32, 32), 18, 0.06),
    "оливк": Drawing("ring", (112, 132, 44), 18, 0.06),
    "халапеньо": Drawing("ring", (70, 142, 50), 12, 0.06, accent=(204, 222, 150)),
    "перец": Drawing("strip", (62, 150, 62), 14, 0.07),
    "томат": Drawing("slice", (226, 60, 44), 10, 0.095, accent=(252, 150, 120)),
    "огур": Drawing("slice", (118, 160, 62), 10, 0.06, accent=(192, 212, 140)),
    "ананас": Drawing("chunk", (250, 214, 70), 16, 0.07, accent=(255, 240, 152)),
    "брусник": Drawing("dot", (160, 20, 40), 44, 0.035),
    "базилик": Drawing("leaf", (40, 122, 42), 8, 0.11, accent=(92, 172, 82), layer=3),
    "орегано": Drawing("speck", (72, 102, 42), 120, 0.016, layer=3),
    "трав": Drawing("speck", (82, 112, 52), 110, 0.016, layer=3),
    "чеснок": Drawing("dot", (246, 240, 220), 40, 0.025, layer=3),
}
# Sauce colour by a word of the sauce's name; a sauce is an ingredient naming "соус" (or one of
# SAUCE_WITHOUT_THE_WORD). The first sauce is the base; later ones are drizzled on top.
SAUCES: dict[str, RGB] = {
    "томат": (190, 46, 30), "пицца": (192, 52, 34), "сгущ": (245, 238, 220), "ранч": (240, 236, 222),
    "сырн": (246, 206, 112), "барбекю": (102, 46, 24), "альфредо": (246, 240, 226), "сливоч": (246, 240, 226),
    "кисло-сладк": (232, 122, 42), "песто": (96, 136, 46), "грибн": (186, 160, 120), "бургер": (212, 132, 62),
    "трюфел": (122, 100, 72),
}
SAUCE_WITHOUT_THE_WORD = ("сгущ",)  # the pizza-pie's condensed milk
_SHAPES = ("disc", "ring", "square", "strip", "chunk", "dot", "leaf", "slice", "crescent", "cube")
_PORTIONS = (("двойн", 2.0), ("увеличен", 1.5))


@dataclass(frozen=True)
class Recipe:
    base_sauce: RGB | None
    drizzles: tuple[RGB, ...]
    toppings: tuple[tuple[str, Drawing, float], ...]   # (seed name, drawing, portion multiplier)


def _normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[()«»\"'.!]", " ", text).split())


def _hashed(name: str) -> Drawing:
    """A deterministic drawing for an ingredient the table does not know."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return Drawing(_SHAPES[digest[0] % len(_SHAPES)], (digest[1], digest[2], digest[3]), 10 + digest[4] % 8,
                   0.06 + (digest[5] % 4) * 0.01, accent=(digest[6], digest[7], digest[8]))


def _hashed_colour(name: str) -> RGB:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return digest[0], digest[1], digest[2]


def _first_stem(part: str, stems) -> str | None:
    return next((stem for stem in sorted(stems, key=len, reverse=True) if stem in part), None)


def read_recipe(ingredients: str | Sequence[str]) -> Recipe:
    """The drawing plan of an ingredient text ("Томатный соус, пепперони, моцарелла") or list."""
    phrases = ingredients.split(",") if isinstance(ingredients, str) else list(ingredients)
    sauces: list[RGB] = []
    toppings: list[tuple[str, Drawing, float]] = []
    for phrase in phrases:
        portion = 1.0
        # "увеличенные порции цыпленка и пепперони" names two toppings, both in a larger portion
        for part in (p.strip() for p in _normalise(phrase).split(" и ")):
            if not part:
                continue
            portion = next((factor for word, factor in _PORTIONS if word in part), portion)
            if "соус" in part or any(word in part for word in SAUCE_WITHOUT_THE_WORD):
                stem = _first_stem(part, SAUCES)
                sauces.append(SAUCES[stem] if stem else _hashed_colour(part))
                continue
            stem = _first_stem(part, TOPPINGS)
            toppings.append((stem, TOPPINGS[stem], portion) if stem else (part, _hashed(part), portion))
    return Recipe(sauces[0] if sauces else None, tuple(sauces[1:]), tuple(toppings))


def _rotated(points: list[tuple[float, float]], angle: float, x: float, y: float) -> list[tuple[float, float]]:
    c, s = math.cos(angle), math.sin(angle)
    return [(x + px * c - py * s, y + px * s + py * c) for px, py in points]


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(max(0, min(255, round(v * factor))) for v in colour)


def _draw_piece(draw: ImageDraw.ImageDraw, drawing: Drawing, x: float, y: float, r: float, angle: float,
                rng: random.Random) -> None:
    """One piece of a topping, centred at (x, y), about ``r`` pixels in radius."""
    colour, accent = drawing.colour, drawing.accent or _shade(drawing.colour, 0.75)
    shape = drawing.shape
    if shape == "disc":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=accent, width=max(1, round(r * 0.18)))
        for _ in range(3):  # fat specks
            dx, dy = rng.uniform(-0.5, 0.5) * r, rng.uniform(-0.5, 0.5) * r
            draw.ellipse((x + dx - r * 0.1, y + dy - r * 0.1, x + dx + r * 0.1, y + dy + r * 0.1), fill=accent)
    elif shape in ("ring", "slice"):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=None if shape == "ring" else accent, outline=colour,
                     width=max(1, round(r * (0.45 if shape == "ring" else 0.3))))
        if shape == "slice":  # seeds
            for k in range(5):
                a = angle + k * 2 * math.pi / 5
                sx, sy = x + math.cos(a) * r * 0.45, y + math.sin(a) * r * 0.45
                draw.ellipse((sx - r * 0.09, sy - r * 0.09, sx + r * 0.09, sy + r * 0.09), fill=colour)
        elif drawing.accent:
            draw.ellipse((x - r * 0.2, y - r * 0.2, x + r * 0.2, y + r * 0.2), fill=drawing.accent)
    elif shape in ("square", "cube"):
        half = r * (0.8 if shape == "square" else 0.7)
        corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
        draw.polygon(_rotated(corners, angle, x, y), fill=colour, outline=accent)
        if shape == "cube":
            inner = [(px * 0.5 - half * 0.2, py * 0.5 - half * 0.2) for px, py in corners]
            draw.polygon(_rotated(inner, angle, x, y), fill=accent)
    elif shape == "strip":
        length, width = r * 1.4, r * 0.4
        draw.polygon(_rotated([(-length, -width), (length, -width), (length, width), (-length, width)], angle, x, y),
                     fill=colour)
        if drawing.accent:  # a fat stripe along the bacon
            draw.line(_rotated([(-length, 0), (length, 0)], angle, x, y), fill=drawing.accent,
                      width=max(1, round(width * 0.5)))
    elif shape in ("chunk", "blob"):
        corners = 7 if shape == "chunk" else 10
        points = [(math.cos(2 * math.pi * k / corners) * r * rng.uniform(0.6, 1.1),
                   math.sin(2 * math.pi * k / corners) * r * rng.uniform(0.6, 1.1)) for k in range(corners)]
        draw.polygon(_rotated(points, angle, x, y), fill=colour)
        if drawing.accent:
            draw.ellipse((x - r * 0.25, y - r * 0.25, x + r * 0.25, y + r * 0.25), fill=drawing.accent)
    elif shape in ("dot", "speck"):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == "leaf":
        steps = 8
        upper = [(r * (2 * k / steps - 1), r * 0.45 * math.sin(math.pi * k / steps)) for k in range(steps + 1)]
        lower = [(px, -py) for px, py in reversed(upper)]
        draw.polygon(_rotated(upper + lower, angle, x, y), fill=colour)
        draw.line(_rotated([(-r, 0), (r, 0)], angle, x, y), fill=accent, width=max(1, round(r * 0.08)))
    elif shape == "crescent":
        start = math.degrees(angle)
        draw.arc((x - r, y - r, x + r, y + r), start, start + 200, fill=colour, width=max(1, round(r * 0.45)))
        draw.arc((x - r * 0.8, y - r * 0.8, x + r * 0.8, y + r * 0.8), start + 20, start + 180, fill=accent,
                 width=max(1, round(r * 0.12)))
    elif shape == "mushroom":
        steps = 10
        cap = [(math.cos(math.pi * k / steps) * r, -math.sin(math.pi * k / steps) * r * 0.8) for k in range(steps + 1)]
        stem = [(-r * 0.3, 0), (-r * 0.3, r * 0.7), (r * 0.3, r * 0.7), (r * 0.3, 0)]
        draw.polygon(_rotated(cap, angle, x, y), fill=colour, outline=accent)
        draw.polygon(_rotated(stem, angle, x, y), fill=colour, outline=accent)
    else:
        raise ValueError(f"unknown topping shape {shape!r}")


def _place(rng: random.Random, radius: float) -> tuple[float, float]:
    """A uniform point inside a disc of ``radius`` around the origin."""
    distance, angle = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return distance * math.cos(angle), distance * math.sin(angle)


def _drizzle(draw: ImageDraw.ImageDraw, colour: RGB, centre: float, radius: float, rng: random.Random) -> None:
    for _ in range(3):
        offset, angle = rng.uniform(-0.5, 0.5) * radius, rng.uniform(0, math.pi)
        points = [(t * radius * 0.8, offset + math.sin(t * 9 + offset) * radius * 0.05) for t in np.linspace(-1, 1, 40)]
        draw.line(_rotated(points, angle, centre, centre), fill=colour, width=max(1, round(radius * 0.025)))


def render_top_view(ingredients: str | Sequence[str], *, seed: int, pizza: str,
                    side: int = TOP_VIEW_SIDE) -> Image.Image:
    """The pizza seen from above on a light background, ``side`` × ``side`` RGB.

    ``pizza`` names it (with ``seed`` it decides the crust and where each topping lies).
    """
    recipe = read_recipe(ingredients)
    size = side * _SUPERSAMPLE
    centre, radius = size / 2, size * _PIZZA_RADIUS
    image = Image.new("RGB", (size, size), _BACKGROUND)
    shadow = Image.new("L", (size // 8, size // 8), 0)
    s = size / 8
    ImageDraw.Draw(shadow).ellipse((s / 2 - radius / 8 + 2, s / 2 - radius / 8 + 3, s / 2 + radius / 8 + 2,
                                    s / 2 + radius / 8 + 3), fill=70)
    shadow = shadow.filter(ImageFilter.GaussianBlur(2)).resize((size, size), Image.Resampling.BILINEAR)
    image.paste((90, 80, 70), mask=shadow)
    draw = ImageDraw.Draw(image)
    crust_rng = random.Random(f"{seed}:{pizza}:crust")
    bumps = [(math.cos(2 * math.pi * k / 48) * radius * crust_rng.uniform(0.975, 1.0),
              math.sin(2 * math.pi * k / 48) * radius * crust_rng.uniform(0.975, 1.0)) for k in range(48)]
    draw.polygon([(centre + x, centre + y) for x, y in bumps], fill=_CRUST)
    inner = radius * 0.86
    draw.ellipse((centre - inner, centre - inner, centre + inner, centre + inner), fill=_DOUGH)
    if recipe.base_sauce is not None:
        sauce = radius * 0.82
        draw.ellipse((centre - sauce, centre - sauce, centre + sauce, centre + sauce), fill=recipe.base_sauce)
    for layer in (1, 2, 3):
        for name, drawing, portion in recipe.toppings:
            if drawing.layer != layer:
                continue
            rng = random.Random(f"{seed}:{pizza}:{name}")
            for _ in range(round(drawing.count * portion)):
                dx, dy = _place(rng, radius * 0.74)
                piece = drawing.size * radius * rng.uniform(0.8, 1.2)
                _draw_piece(draw, drawing, centre + dx, centre + dy, piece, rng.uniform(0, 2 * math.pi), rng)
        if layer == 2:
            for index, colour in enumerate(recipe.drizzles):
                _drizzle(draw, colour, centre, radius, random.Random(f"{seed}:{pizza}:drizzle{index}"))
    image = image.resize((side, side), Image.Resampling.LANCZOS)
    return _baked(image, seed=seed, pizza=pizza)


def _baked(image: Image.Image, *, seed: int, pizza: str) -> Image.Image:
    """Grain and a little darkening toward the rim, so flat fills look less like a diagram."""
    pixels = np.asarray(image, dtype=np.float32)
    side = pixels.shape[0]
    digest = hashlib.sha256(f"{seed}:{pizza}:grain".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    distance = np.hypot(xx - side / 2, yy - side / 2) / (side * _PIZZA_RADIUS)
    rim = np.clip(1.0 - 0.12 * np.clip(distance - 0.6, 0, 0.4) / 0.4, 0.88, 1.0)
    on_pizza = (distance <= 1.0)[..., None]
    grain = rng.normal(0.0, 5.0, size=pixels.shape).astype(np.float32)
    baked = np.where(on_pizza, pixels * rim[..., None] + grain, pixels)
    return Image.fromarray(np.clip(baked, 0, 255).astype(np.uint8), "RGB")


def popup_photos(top_view: Image.Image) -> list[Image.Image]:
    """The 2017 popup's three 710×380 photos of one pizza: served at an angle, a close-up, and the
    product shot with the top view in ``TOP_VIEW_BOX`` (the one the pizza generator crops)."""
    width, height = POPUP_PHOTO_SIZE
    left, top, right, bottom = TOP_VIEW_BOX
    square = top_view.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    product = Image.new("RGB", POPUP_PHOTO_SIZE, _BACKGROUND)
    product.paste(square, (left, top))
    angled = Image.new("RGB", POPUP_PHOTO_SIZE, (92, 64, 44))  # on a wooden board, seen from the side
    tilted_size = (round(height * 1.5), round(height * 0.75))
    disc = Image.new("L", top_view.size, 0)
    edge = top_view.width * (0.5 - _PIZZA_RADIUS * 1.01)
    ImageDraw.Draw(disc).ellipse((edge, edge, top_view.width - edge, top_view.height - edge), fill=255)
    angled.paste(top_view.resize(tilted_size, Image.Resampling.LANCZOS),
                 ((width - tilted_size[0]) // 2, (height - tilted_size[1]) // 2),
                 mask=disc.resize(tilted_size, Image.Resampling.BILINEAR))
    side = top_view.width
    close_height = round(side * 0.5 * height / width)
    close_up = top_view.crop((side // 4, side // 2 - close_height // 2, side // 4 + side // 2,
                              side // 2 - close_height // 2 + close_height)).resize(POPUP_PHOTO_SIZE,
                                                                                    Image.Resampling.LANCZOS)
    return [angled, close_up, product]


def jpeg_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=False, progressive=False)
    return out.getvalue()
