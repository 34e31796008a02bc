"""menu.csv + the image manifest + recipes.json -> the photos to augment, and every pizza left out named."""

from __future__ import annotations

import pandas as pd

from neta.pizza.photos import pizza_photos
from neta.pizza.recipes import build_recipes


def write_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_each_pizza_gets_its_photo_and_recipe_or_a_reason(tmp_path):
    menu = write_csv(tmp_path / "menu.csv", [
        {"pizza_id": "a", "name": "A", "ingredients": "томатный соус, моцарелла", "image_url": "http://x/a.jpg",
         "custom": "False"},
        {"pizza_id": "b", "name": "B", "ingredients": "ветчина", "image_url": "http://x/b.jpg", "custom": "False"},
        {"pizza_id": "c", "name": "C", "ingredients": "бекон", "image_url": "", "custom": "False"},
        {"pizza_id": "d", "name": "D", "ingredients": "", "image_url": "http://x/d.jpg", "custom": "False"},
        {"pizza_id": "own", "name": "Своя", "ingredients": "", "image_url": "http://x/own.jpg", "custom": "True"},
    ])
    (tmp_path / "images").mkdir()
    manifest = write_csv(tmp_path / "images" / "manifest.csv", [
        {"url": "http://x/a.jpg", "path": "aaa.jpg", "status": "ok", "error": ""},
        {"url": "http://x/b.jpg", "path": "", "status": "not_image", "error": "Content-Type 'text/html'"},
        {"url": "http://x/d.jpg", "path": "ddd.jpg", "status": "ok", "error": ""},
    ])
    recipes = build_recipes(
        [("a", "A", "томатный соус, моцарелла", False), ("b", "B", "ветчина", False), ("c", "C", "бекон", False),
         ("d", "D", "", False)],
        slots=9, aliases={}, truncate=False)

    photos, failures = pizza_photos(menu, manifest, recipes)

    assert [photo.pizza_id for photo in photos] == ["a"]
    assert photos[0].image_path == tmp_path / "images" / "aaa.jpg"
    assert photos[0].recipe.shape == (9, len(recipes["vocabulary"])) and photos[0].recipe.sum() == 9
    reasons = {failure["pizza_id"]: failure["reason"] for failure in failures}
    assert set(reasons) == {"b", "c", "d"}  # the build-your-own card is no recipe, not a failure
    assert "download failed: not_image" in reasons["b"]
    assert "no photo URL" in reasons["c"]
    assert "no recipe" in reasons["d"]
