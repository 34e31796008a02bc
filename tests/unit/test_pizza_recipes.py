"""neta.pizza recipes: menu ingredient texts -> normalised names -> one-hot recipe matrices."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neta.errors import NetaError
from neta.pizza.config import RecipeSettings
from neta.pizza.ingredients import clean_aliases, normalise_ingredients
from neta.pizza.lemmas import PhraseLemmatiser
from neta.pizza.recipes import (
    build_recipes,
    encode_recipes,
    one_hot,
    read_recipes,
    recipe_matrices,
    write_recipes,
)

REAL_MENU = Path(__file__).resolve().parents[1] / "data" / "dodopizza" / "pizzas_kaliningrad_2017.csv"
ALIASES = {"сыр моцарелла": "моцарелла"}  # the proposed default of pizza.recipes.aliases

NO_ALIASES = RecipeSettings(slots=9, truncate=False, aliases={})
WITH_ALIASES = RecipeSettings(slots=9, truncate=False, aliases=ALIASES)


@pytest.fixture(scope="module")
def lemmatiser():
    return PhraseLemmatiser()


@pytest.fixture
def normalise(lemmatiser):
    return lambda text, aliases=None: normalise_ingredients(text, lemmatiser=lemmatiser,
                                                            aliases=clean_aliases(aliases or {}))


def real_menu() -> list[tuple[str, str, str, bool]]:
    frame = pd.read_csv(REAL_MENU, dtype=str, keep_default_na=False)
    return [(row.pizza_eng_name, row.pizza_name.strip(), row.pizza_contain, False) for row in frame.itertuples()]


def build(menu, *, slots=9, aliases=ALIASES, truncate=False) -> dict:
    return build_recipes(menu, slots=slots, aliases=aliases, truncate=truncate)


# --- normalisation rules ---------------------------------------------------------------------------------

def test_double_portion_counts_twice(normalise):
    assert normalise("Томатный соус, двойная порция пепперони") == ["томатный соус", "пепперони", "пепперони"]
    assert normalise("Двойные порции бекона") == ["бекон", "бекон"]


def test_enlarged_portion_is_dropped_and_carries_over_the_and_split(normalise):
    assert normalise("увеличенная порция моцареллы") == ["моцарелла"]
    assert normalise("Увеличенные порции цыпленка и пепперони, моцарелла") == ["цыпленок", "пепперони", "моцарелла"]
    assert normalise("двойная порция пепперони и увеличенная порция моцареллы") == [
        "пепперони", "пепперони", "моцарелла"]


def test_splits_on_commas_and_the_word_and_in_any_case(normalise):
    assert normalise("Ветчина И шампиньоны,томаты") == ["ветчина", "шампиньон", "томат"]
    # "и" inside a word or a hyphenated word is no separator
    assert normalise("брусника, кисло-сладкий соус") == ["брусника", "кисло-сладкий соус"]


def test_yo_is_folded_to_ye(normalise):
    assert normalise("Цыплёнок, солёные огурцы") == normalise("Цыпленок, соленые огурцы") == [
        "цыпленок", "соленый огурец"]


def test_trailing_dots_emoji_symbols_and_spacing_go(normalise):
    assert normalise("  Томатный   соус , моцарелла.  ") == ["томатный соус", "моцарелла"]
    assert normalise("🌶️ Халапеньо 🔥, «Пепперони»!, бекон\u00a0…") == ["халапеньо", "пепперони", "бекон"]
    assert normalise("мо\u0301царелла") == ["моцарелла"]  # a stress mark


def test_parenthesised_remarks_go_with_their_commas(normalise):
    assert normalise("Говядина (фарш), ветчина") == ["говядина", "ветчина"]
    assert normalise("соус (томаты, базилик (свежий)), бекон") == ["соус", "бекон"]


@pytest.mark.parametrize(("text", "expected"), [
    ("моцареллы", "моцарелла"),
    ("цыпленка", "цыпленок"),
    ("красного лука", "красный лук"),
    ("сладкого перца", "сладкий перец"),
    ("томатный соус", "томатный соус"),
    ("охотничьи колбаски", "охотничья колбаска"),
    ("шампиньоны", "шампиньон"),
    ("сгущенное молоко", "сгущенное молоко"),
    ("соус барбекю", "соус барбекю"),
    ("сыра моцарелла", "сыр моцарелла"),
])
def test_inflections_lemmatise(normalise, text, expected):
    assert normalise(text) == [expected]


def test_portion_phrases_govern_the_genitive(normalise):
    # out of context "лука" reads best as the name Лука; after "порция" it is the genitive of лук
    assert normalise("увеличенная порция лука") == ["лук"]
    assert normalise("увеличенная порция красного лука") == ["красный лук"]


def test_aliases_apply_after_lemmatisation(normalise):
    text = "увеличенная порция сыра моцарелла, Моцарелла"
    assert normalise(text) == ["сыр моцарелла", "моцарелла"]
    assert normalise(text, {"Сыр  Моцарелла": "моцарелла"}) == ["моцарелла", "моцарелла"]


def test_an_alias_with_an_empty_side_is_an_error_naming_it():
    with pytest.raises(NetaError, match="pizza.recipes.aliases.*'сыр'"):
        clean_aliases({"сыр": " . "})


# --- encoding ------------------------------------------------------------------------------------------------

def test_the_real_menu_encodes_within_nine_slots_and_about_28_ingredients():
    recipes = build(real_menu())
    vocabulary = recipes["vocabulary"]
    assert vocabulary[0] == "" and vocabulary[1:] == sorted(vocabulary[1:])
    assert abs(len(vocabulary) - 1 - 28) <= 1
    assert len(recipes["pizzas"]) == 20 and not recipes["skipped"] and not recipes["custom"]
    assert all(len(pizza["ingredients"]) <= 9 for pizza in recipes["pizzas"])
    assert [p["pizza_id"] for p in recipes["pizzas"]] == sorted(p["pizza_id"] for p in recipes["pizzas"])
    double = next(p for p in recipes["pizzas"] if p["pizza_id"] == "double-pepperoni")
    assert double["ingredients"] == ["томатный соус", "пепперони", "пепперони", "моцарелла"]
    assert double["slots"] == [vocabulary.index(name) for name in double["ingredients"]] + [0] * 5
    assert "сыр моцарелла" not in vocabulary and "говядина" in vocabulary


def test_without_the_alias_cheese_and_mozzarella_stay_apart():
    assert "сыр моцарелла" in build(real_menu(), aliases={})["vocabulary"]


TEN = "томаты, бекон, ветчина, пепперони, цыпленок, шампиньоны, маслины, брынза, орегано, базилик"


def test_a_too_long_recipe_is_an_error_naming_the_pizza_its_ingredients_and_the_fixes():
    with pytest.raises(NetaError) as error:
        build([("big", "Большая", TEN, False), ("small", "Малая", "бекон", False)])
    message = str(error.value)
    assert "'Большая' (big): 10: томат, бекон" in message and "базилик" in message and "Малая" not in message
    for fix in ("pizza.recipes.slots", "pizza.recipes.aliases", "pizza.recipes.truncate"):
        assert fix in message


def test_truncate_keeps_the_first_slots_and_logs_the_pizza(caplog):
    with caplog.at_level(logging.WARNING, logger="neta.pizza.recipes"):
        recipes = build([("big", "Большая", TEN, False)], truncate=True)
    (pizza,) = recipes["pizzas"]
    assert len(pizza["ingredients"]) == 9 and pizza["dropped"] == ["базилик"]
    assert "базилик" not in recipes["vocabulary"]
    assert "Большая" in caplog.text and "big" in caplog.text and "базилик" in caplog.text


def test_custom_items_are_listed_and_never_encoded():
    recipes = build([("margo", "Маргарита", "томаты, моцарелла", False),
                     ("own", "Собери сама", "ананасы, креветки", True)])
    assert [p["pizza_id"] for p in recipes["pizzas"]] == ["margo"]
    assert recipes["custom"] == [{"pizza_id": "own", "name": "Собери сама"}]
    assert recipes["vocabulary"] == ["", "моцарелла", "томат"]


def test_items_without_ingredients_or_with_a_repeated_id_are_skipped_listed_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="neta.pizza.recipes"):
        recipes = build([("a", "Пустая", "  ", False), ("b", "Символы", "🍕, …", False),
                         ("c", "Первая", "бекон", False), ("c", "Вторая", "ветчина", False)])
    reasons = {(s["pizza_id"], s["name"]): s["reason"] for s in recipes["skipped"]}
    assert reasons[("a", "Пустая")] == "no ingredient text"
    assert "no ingredient left" in reasons[("b", "Символы")]
    assert "repeats" in reasons[("c", "Вторая")]
    assert [p["name"] for p in recipes["pizzas"]] == ["Первая"]
    assert "Пустая" in caplog.text and "Символы" in caplog.text


def test_one_hot_shape_dtype_and_one_class_a_slot():
    matrix = one_hot([3, 1, 1, 0, 0], 5)
    assert matrix.shape == (5, 5) and matrix.dtype == np.uint8
    assert (matrix.sum(axis=1) == 1).all() and matrix[0, 3] == 1 and matrix[3, 0] == 1
    with pytest.raises(ValueError, match="0..4"):
        one_hot([5], 5)


def test_recipe_matrices_follow_the_requested_order():
    recipes = build(real_menu())
    matrices = recipe_matrices(recipes, ["pizza-pepperoni", "double-pepperoni"])
    assert matrices.shape == (2, 9, len(recipes["vocabulary"])) and matrices.dtype == np.uint8
    pepperoni = recipes["vocabulary"].index("пепперони")
    assert matrices[1, :, pepperoni].sum() == 2 and matrices[0, :, pepperoni].sum() == 1
    assert (matrices.sum(axis=2) == 1).all()
    with pytest.raises(NetaError, match="no recipe for nope"):
        recipe_matrices(recipes, ["nope"])


# --- the file and the stage ------------------------------------------------------------------------------

def test_write_then_read_round_trips(tmp_path):
    recipes = build(real_menu(), truncate=True)
    write_recipes(tmp_path / "recipes.json", recipes)
    assert read_recipes(tmp_path / "recipes.json") == recipes


@pytest.mark.parametrize(("breakage", "named"), [
    (lambda r: "{not json", "cannot read as JSON"),
    (lambda r: json.dumps({k: v for k, v in r.items() if k != "vocabulary"}), "key vocabulary: missing"),
    (lambda r: json.dumps({**r, "pizzas": [{**r["pizzas"][0], "slots": [99] * 9}]}), r"key pizzas\[0\].slots"),
    (lambda r: json.dumps({**r, "vocabulary": ["<empty>", *r["vocabulary"][1:]]}), "key vocabulary"),
])
def test_read_recipes_on_a_broken_file_names_the_file_and_key(tmp_path, breakage, named):
    path = tmp_path / "recipes.json"
    path.write_text(breakage(build(real_menu())), encoding="utf-8")
    with pytest.raises(NetaError, match=named) as error:
        read_recipes(path)
    assert str(path) in str(error.value)


def test_the_stage_reads_menu_csv_and_writes_recipes_json(tmp_path):
    menu = pd.DataFrame(real_menu(), columns=["pizza_id", "name", "ingredients", "custom"])
    menu.loc[len(menu)] = ["own", "Собери сама", "", True]
    menu.to_csv(tmp_path / "menu.csv", index=False, encoding="utf-8")
    summary = encode_recipes(tmp_path / "menu.csv", tmp_path / "recipes.json", settings=WITH_ALIASES,
                             max_failure_ratio=0.0)
    assert summary["pizzas"] == 20 and summary["custom"] == 1 and summary["skipped"] == 0
    assert read_recipes(tmp_path / "recipes.json")["custom"] == [{"pizza_id": "own", "name": "Собери сама"}]


def test_the_stage_names_the_menu_file_on_a_missing_column_or_too_long_recipe(tmp_path):
    path = tmp_path / "menu.csv"
    menu = pd.DataFrame({"pizza_id": ["a"], "name": ["A"], "ingredients": [TEN]})
    menu.to_csv(path, index=False)
    with pytest.raises(NetaError, match=re.escape(f"{path}: no column custom")):
        encode_recipes(path, tmp_path / "recipes.json", settings=NO_ALIASES, max_failure_ratio=0.5)
    menu.assign(custom="False").to_csv(path, index=False)
    with pytest.raises(NetaError, match=re.escape(f"{path}: 1 recipe")):
        encode_recipes(path, tmp_path / "recipes.json", settings=NO_ALIASES, max_failure_ratio=0.5)
    assert not (tmp_path / "recipes.json").exists()


def test_the_stage_stops_without_output_past_the_failure_ratio(tmp_path):
    path = tmp_path / "menu.csv"
    pd.DataFrame({"pizza_id": ["a", "b", "c"], "name": ["A", "Пустая", "C"], "ingredients": ["бекон", "", "томаты"],
                  "custom": ["False"] * 3}).to_csv(path, index=False)
    out = tmp_path / "recipes.json"
    with pytest.raises(NetaError, match=r"1 of 3 menu items skipped.*'Пустая' \(b\): no ingredient text"):
        encode_recipes(path, out, settings=NO_ALIASES, max_failure_ratio=0.2)
    assert not out.exists()
    summary = encode_recipes(path, out, settings=NO_ALIASES, max_failure_ratio=0.5)
    assert summary["skipped"] == 1 and read_recipes(out)["skipped"][0]["pizza_id"] == "b"
