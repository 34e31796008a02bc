"""The offline Dodo Pizza snapshot: contents, the XHR popup, rendered photos, and a crawl of it
through the real generic crawl and local server (then again from the HTTP cache)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from PIL import Image

from neta.pizza.site import parse_dodo
from neta.pizza.site.adapter import dodo_adapter
from neta.pizza.snapshot.build import MENU_2017_PATH, MENU_2023_PATH, build_dodo_snapshot, expected_menu, site_model
from neta.pizza.snapshot.render import TOP_VIEW_BOX, jpeg_bytes, read_recipe, render_top_view
from neta.scrape.crawl import run_scrape
from neta.scrape.sites import open_site, snapshot_origin
from neta.scrape.snapshot_server import SnapshotServer, resolve_request

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "dodopizza" / "pizzas_kaliningrad_2017.csv"
XHR = {"X-Requested-With": "XMLHttpRequest"}
# Mean absolute difference (0-255, over all pixels and channels) that one changed ingredient must exceed.
ONE_INGREDIENT_BOUND = 2.0


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("snap") / "dodo"
    return root, build_dodo_snapshot(root, seed=0)


def _crawl(site, out: Path, cache: Path, paths=(MENU_2017_PATH,)) -> dict:
    start = [site.url(path) for path in paths]
    return run_scrape(start, out, adapter=dodo_adapter(start_urls=start), base_origin_map=site.origin_map,
                      user_agent="neta/0.1", contact="tests@example.invalid", cache_path=cache, rate_limit=0,
                      allowed_hosts=site.allowed_hosts([]), max_pages=100, max_items=100, max_failure_ratio=0.0,
                      progress=False)


def test_the_snapshot_holds_the_original_menu(snapshot):
    root, summary = snapshot
    assert summary["pizzas"] == 20 and summary["custom_cards"] == 1
    assert summary["start_paths"] == {"dodo2017": MENU_2017_PATH, "dodo2023": MENU_2023_PATH}
    assert summary["photos"] == 20 * 3 + 21 * 2  # three popup photos a pizza, two sizes a 2023 card
    assert (root / "robots.txt").read_text().startswith("# Offline snapshot of Dodo Pizza")
    assert (root / "Kaliningrad" / "index.html").is_file() and (root / "moscow" / "index.html").is_file()
    original = pd.read_csv(ORIGINAL)
    assert [p["pizza_id"] for p in expected_menu(0)] == original["pizza_eng_name"].tolist()
    menu_page = (root / "Kaliningrad" / "index.html").read_text(encoding="utf-8")
    assert all(f'<div class="prod_contains">{text}</div>' in menu_page for text in original["pizza_contain"])


def test_a_product_url_answers_scripts_with_the_popup_and_browsers_with_a_page(snapshot):
    root, _ = snapshot
    product = root / "Kaliningrad" / "Product" / "pizza-pepperoni"
    assert resolve_request(root, "/Kaliningrad/Product/pizza-pepperoni", xhr=True) == product / "xhr.html"
    assert resolve_request(root, "/Kaliningrad/Product/pizza-pepperoni") == product / "index.html"
    assert resolve_request(root, "/Kaliningrad/Product/pizza-pepperoni?page=2", xhr=True) is None
    assert resolve_request(root, "/moscow", xhr=True) == root / "moscow" / "index.html"  # no fragment: the page
    with SnapshotServer(root) as server:
        popup = requests.get(server.origin + "/Kaliningrad/Product/pizza-pepperoni", headers=XHR, timeout=5)
        page = requests.get(server.origin + "/Kaliningrad/Product/pizza-pepperoni", timeout=5)
    assert popup.text.startswith('<div class="popup_prod_cont"') and page.text.startswith("<!DOCTYPE html>")
    assert popup.headers["Vary"] == page.headers["Vary"] == "X-Requested-With"
    assert popup.text.count("<li><img") == 3 and 'class="popup_prod_cont"' in page.text
    url = snapshot_origin("dodo") + "/Kaliningrad/Product/pizza-pepperoni"
    assert parse_dodo(popup.content, url).items == parse_dodo(page.content, url).items  # the same pizza either way


def test_the_third_popup_photo_shows_the_top_view_at_165_0(snapshot):
    root, _ = snapshot
    model = site_model(0)
    pepperoni, margarita = (next(p for p in model["pizzas"] if p["slug"] == s) for s in
                            ("pizza-pepperoni", "pizza-margarita"))
    photos = [Image.open(root / path.lstrip("/")) for path in pepperoni["photos_2017"]]
    assert [photo.size for photo in photos] == [(710, 380)] * 3 and {p.format for p in photos} == {"JPEG"}
    crop = np.asarray(photos[2].crop(TOP_VIEW_BOX), dtype=np.float32)
    square = Image.open(root / pepperoni["photos_2023"][584].lstrip("/")).resize((380, 380))
    other = Image.open(root / margarita["photos_2023"][584].lstrip("/")).resize((380, 380))
    same = np.abs(crop - np.asarray(square, dtype=np.float32)).mean()
    different = np.abs(crop - np.asarray(other, dtype=np.float32)).mean()
    assert same < 6 < different  # the crop is this pizza's top view (up to JPEG), not another's
    left_margin = np.asarray(photos[2].crop((0, 0, 150, 380)), dtype=np.float32)
    assert left_margin.std() < 3  # plain background beside the top view


def test_same_seed_same_bytes_and_another_seed_other_photos(snapshot, tmp_path):
    root, _ = snapshot
    build_dodo_snapshot(tmp_path / "again", seed=0)
    def files(tree: Path) -> dict[Path, bytes]:
        return {path.relative_to(tree): path.read_bytes() for path in tree.rglob("*") if path.is_file()}

    assert files(tmp_path / "again") == files(root)
    one = render_top_view("Томатный соус, пепперони, моцарелла", seed=0, pizza="p", side=128)
    assert jpeg_bytes(one) == jpeg_bytes(render_top_view("Томатный соус, пепперони, моцарелла", seed=0, pizza="p",
                                                          side=128))
    other = render_top_view("Томатный соус, пепперони, моцарелла", seed=1, pizza="p", side=128)
    assert jpeg_bytes(one) != jpeg_bytes(other)


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


@pytest.mark.parametrize("extra", ["маслины", "базилик", "шампиньоны", "ветчина", "ананасы", "красный лук",
                                   "корнишоны по-королевски"])  # the last is not in the table: a hashed drawing
def test_recipes_that_differ_in_one_ingredient_look_different(extra):
    base = "Томатный соус, пепперони, моцарелла"
    plain = render_top_view(base, seed=0, pizza="p", side=256)
    with_extra = render_top_view(f"{base}, {extra}", seed=0, pizza="p", side=256)
    assert _mean_difference(plain, with_extra) > ONE_INGREDIENT_BOUND


def test_sauce_colour_follows_the_sauce_and_unknown_ingredients_get_their_own_look():
    tomato = np.asarray(render_top_view("Томатный соус", seed=0, pizza="p", side=128), dtype=np.float32)
    cream = np.asarray(render_top_view("Сливочный соус", seed=0, pizza="p", side=128), dtype=np.float32)
    bbq = np.asarray(render_top_view("Соус барбекю", seed=0, pizza="p", side=128), dtype=np.float32)
    centre = (slice(54, 74), slice(54, 74))
    r, g, b = tomato[centre].mean(axis=(0, 1))
    assert r > 150 and g < 80  # red
    assert cream[centre].mean(axis=(0, 1)).min() > 200  # white
    assert bbq[centre].mean() < 90  # dark brown
    recipe = read_recipe("Томатный соус, двойная порция пепперони и увеличенная порция моцареллы, кисло-сладкий соус")
    assert [(name, portion) for name, _, portion in recipe.toppings] == [("пепперони", 2.0), ("моцарел", 1.5)]
    assert len(recipe.drizzles) == 1
    first, second = read_recipe("трюфельные чипсы").toppings[0][1], read_recipe("вяленая дыня").toppings[0][1]
    assert first == read_recipe("трюфельные чипсы").toppings[0][1] and first != second


def test_crawl_of_the_snapshot_gives_the_20_pizzas_then_comes_from_the_cache(snapshot, tmp_path):
    root, _ = snapshot
    cache = tmp_path / "dodo.sqlite"
    with open_site("dodo", snapshot_dir=root) as site:
        first = _crawl(site, tmp_path / "menu.csv", cache)
    with open_site("dodo", snapshot_dir=root) as site:  # a new port, as every run
        second = _crawl(site, tmp_path / "again.csv", cache)
    assert first["pages_fetched"] == 21 and first["failed"] == first["off_scope"] == first["item_errors"] == 0
    assert second["network_requests"] == 0 and second["from_cache"] == 21
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "menu.csv").read_bytes()
    origin = snapshot_origin("dodo")
    menu = pd.read_csv(tmp_path / "menu.csv", dtype=str, keep_default_na=False).set_index("pizza_id")
    expected = {p["pizza_id"]: p for p in expected_menu(0)}
    assert sorted(menu.index) == sorted(expected)
    for pizza_id, pizza in expected.items():
        row = menu.loc[pizza_id]
        assert (row["name"], row["ingredients"], row["image_url"], int(row["price"])) == (
            pizza["name"], pizza["ingredients"], origin + pizza["image_path"], pizza["price"])
        assert (row["custom"], row["city"], row["layout"]) == ("False", "Kaliningrad", "dodo2017")
    original = pd.read_csv(ORIGINAL)
    assert dict(zip(original["pizza_eng_name"], original["pizza_contain"].str.split().str.join(" "), strict=True)) \
        == menu["ingredients"].to_dict()


def test_the_2023_copy_of_the_menu_parses_to_the_pizzas_and_one_custom_card(snapshot):
    root, _ = snapshot
    url = snapshot_origin("dodo") + MENU_2023_PATH
    page = parse_dodo((root / "moscow" / "index.html").read_bytes(), url)
    assert page.layout == "dodo2023" and page.problems == []
    pizzas = [item for item in page.items if not item.custom]
    [custom] = [item for item in page.items if item.custom]
    expected = {p["product_id"]: p for p in expected_menu(0)}
    assert {item.pizza_id: (item.name, item.ingredients, item.price) for item in pizzas} == {
        pid: (p["name"], p["ingredients"], p["price"]) for pid, p in expected.items()}
    assert custom.name == "Пицца из половинок" and custom.price == 340
    assert all(item.image_url.endswith("_584x584.jpeg") and item.city == "moscow" for item in page.items)
    for item in page.items:
        with Image.open(io.BytesIO((root / item.image_url.split("/", 3)[3]).read_bytes())) as photo:
            assert photo.size == (584, 584)
