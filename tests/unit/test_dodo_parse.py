"""Dodo Pizza parsers: the real 2023 menu page, hand-made 2017 menu and popup, menu JSON, failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from neta.errors import NetaError
from neta.pizza.site import LAYOUTS, MENU_COLUMNS, MenuItem, menu_to_json_lines, parse_dodo, parse_dodo_file
from neta.pizza.site._text import clean_name, largest_photo, parse_price, srcset_candidates
from neta.pizza.site.adapter import merge_menu_records, write_menu_csv
from neta.scrape.adapter import LinkWithHeaders

DATA = Path(__file__).resolve().parents[1] / "data" / "dodopizza"
REAL_2023 = DATA / "menu_moscow_2023-11.html"
ORIGINAL = DATA / "pizzas_kaliningrad_2017.csv"
SITE = "https://dodopizza.ru"


@pytest.fixture(scope="module")
def real_menu():
    return parse_dodo_file(REAL_2023, f"{SITE}/moscow")


def test_the_real_2023_page_gives_29_pizzas_and_2_build_your_own_cards(real_menu):
    assert real_menu.layout == "dodo2023" and real_menu.problems == [] and real_menu.links == []
    pizzas = [item for item in real_menu.items if not item.custom]
    custom = [item for item in real_menu.items if item.custom]
    assert len(pizzas) == 29
    assert sorted(item.name for item in custom) == ["Пицца из половинок", "Соберите свою пиццу"]
    for item in real_menu.items:
        assert item.name and item.ingredients, item
        assert item.image_url.startswith("https://dodopizza-a.akamaihd.net/static/Img/Products/"), item
        assert item.image_url.endswith("_1875x1875.png")  # the largest candidate; png over webp on a tie
        assert re.fullmatch(r"[0-9A-F]{32}", item.pizza_id)
        assert item.city == "moscow" and item.layout == "dodo2023" and item.source_url == f"{SITE}/moscow"
        assert isinstance(item.price, int) and 250 < item.price < 1000
        assert len(item.image_urls) == 19 and item.image_url in item.image_urls
    assert len({item.pizza_id for item in real_menu.items}) == 31  # the "Часто заказывают" strip is not read


def test_2023_names_lose_their_emoji_and_keep_their_punctuation(real_menu):
    names = {item.name for item in real_menu.items}
    assert {"Сырная", "Диабло", "Четыре сыра", "Аррива!", "Маргарита", "Бургер-пицца"} <= names
    assert not any(re.search(r"[^\w\s!.,-]", name) for name in names), names
    by_name = {item.name: item for item in real_menu.items}
    assert by_name["Пепперони"].ingredients == ("Пикантная пепперони, увеличенная порция моцареллы, "
                                                "фирменный томатный соус")
    assert by_name["Гавайская"].ingredients.startswith("Двойная порция цыпленка")  # double space normalised
    assert by_name["Пицца из половинок"].price == 340 and by_name["Трюфельная с мортаделлой"].price == 539


def test_a_saved_file_without_url_names_the_file_and_still_knows_the_city():
    page = parse_dodo_file(REAL_2023)
    assert {item.source_url for item in page.items} == {REAL_2023.resolve().as_uri()}
    assert {item.city for item in page.items} == {"moscow"}


def test_2017_menu_page_links_each_product_popup_with_the_xhr_header():
    page = parse_dodo_file(DATA / "menu_kaliningrad_2017.html", f"{SITE}/Kaliningrad")
    assert page.layout == "dodo2017" and page.problems == []
    assert [item.pizza_id for item in page.items] == ["pizza-pepperoni", "crazy-pizza", "pizza-iz-polovinok"]
    pepperoni, crazy, halves = page.items
    assert pepperoni.name == "Пепперони" and crazy.name == "Крэйзи пицца"
    assert pepperoni.ingredients == "Томатный соус, пепперони, увеличенная порция моцареллы"
    assert pepperoni.price == 385 and crazy.price == 395 and halves.price is None
    assert pepperoni.image_url == "" and pepperoni.image_urls == ("https://cdn.dodopizza.test/Img/pepperoni_small.jpg",)
    assert halves.custom and halves.ingredients == "" and not pepperoni.custom
    assert {item.city for item in page.items} == {"Kaliningrad"}
    assert page.links == [LinkWithHeaders(f"{SITE}/Kaliningrad/Product/{slug}", {"X-Requested-With": "XMLHttpRequest"})
                          for slug in ("pizza-pepperoni", "crazy-pizza", "pizza-iz-polovinok")]


def test_2017_popup_gives_the_third_photo_as_the_top_view():
    url = f"{SITE}/Kaliningrad/Product/pizza-pepperoni"
    page = parse_dodo_file(DATA / "popup_2017.html", url)
    [item] = page.items
    assert page.layout == "dodo2017" and page.links == []
    assert item.image_url == f"{SITE}/Img/Products/Pizza/ru-RU/1c1f-top.jpg"
    assert len(item.image_urls) == 3 and item.image_urls[2] == item.image_url
    assert (item.pizza_id, item.name, item.price, item.city, item.source_url) == (
        "pizza-pepperoni", "Пепперони", 385, "Kaliningrad", url)
    assert item.ingredients == "Томатный соус, пепперони, увеличенная порция моцареллы"


def test_2017_popup_failures_name_the_pizza():
    fragment = (DATA / "popup_2017.html").read_text(encoding="utf-8")
    two_photos = re.sub(r"<li><img[^>]*1c1f-top[^>]*></li>", "", fragment)
    with pytest.raises(NetaError, match=r"pizza 'pizza-pepperoni' \(Пепперони\): 2 photos .* photo #3"):
        parse_dodo(two_photos, f"{SITE}/Kaliningrad/Product/pizza-pepperoni")
    no_text = re.sub(r'<div class="prod_contains">[^<]*</div>', "", fragment)
    with pytest.raises(NetaError, match=r"popup of pizza 'pizza-pepperoni' .*no ingredient text"):
        parse_dodo(no_text, f"{SITE}/Kaliningrad/Product/pizza-pepperoni")
    with pytest.raises(NetaError, match=r"http://elsewhere.test/x: .*not /<City>/Product/<slug>"):
        parse_dodo(fragment, "http://elsewhere.test/x")


def test_menu_json_keeps_pizzas_only_with_lenient_fields():
    url = f"{SITE}/api/v1/menu"
    page = parse_dodo_file(DATA / "menu_api.json", url)
    assert page.layout == "menu_json"
    items = {item.pizza_id: item for item in page.items}
    assert sorted(items) == ["17", "halves", "pizza-pepperoni"]  # the drink is skipped
    pepperoni, margarita, halves = items["pizza-pepperoni"], items["17"], items["halves"]
    assert pepperoni.name == "Пепперони" and pepperoni.price == 385
    assert pepperoni.ingredients == "Томатный соус, пепперони, увеличенная порция моцареллы"
    assert pepperoni.image_url == f"{SITE}/Img/pepperoni_760.jpg" and len(pepperoni.image_urls) == 2
    assert margarita.ingredients == "томатный соус, томаты, моцарелла" and margarita.price == 315
    assert margarita.image_url == "https://cdn.dodopizza.test/Img/margarita_1875x1875.png"
    assert halves.custom and halves.price == 340 and halves.image_url == ""
    assert {item.city for item in page.items} == {"Kaliningrad"}
    assert len(page.problems) == 1 and "Загадка" in page.problems[0] and "no-text" in page.problems[0]


def test_menu_json_inside_a_saved_page_and_a_json_menu_without_pizzas():
    body = (DATA / "menu_api.json").read_text(encoding="utf-8").replace("&", "&amp;").replace("<", "&lt;")
    page = parse_dodo(f"<html><body><pre>{body}</pre></body></html>", f"{SITE}/api/v1/menu")
    assert page.layout == "menu_json" and len(page.items) == 3
    drinks = json.dumps({"items": [{"id": 1, "name": "Кола", "category": "Напитки", "description": "0,5 л"}]})
    with pytest.raises(NetaError, match=r"https://dodopizza.ru/api: menu JSON with 1 items, none a pizza.*Напитки"):
        parse_dodo(drinks.encode("utf-8"), f"{SITE}/api")


def test_2023_card_without_ingredients_is_a_record_problem_and_no_pizza_section_is_an_error():
    page = parse_dodo_file(DATA / "menu_2023_small.html", f"{SITE}/moscow")
    assert [(i.pizza_id, i.name, i.price, i.image_url) for i in page.items] == [
        ("A1", "Пепперони", 1299, f"{SITE}/Img/A1_292x292.jpeg")]
    assert page.problems == [
        f"{SITE}/moscow: pizza card menu__meta-product_B2 (Пустая): no ingredient text on the card"]
    no_pizzas = (DATA / "menu_2023_small.html").read_text(encoding="utf-8").replace("Пиццы", "Закуски")
    with pytest.raises(NetaError, match=r"https://dodopizza.ru/moscow: .*without a pizza section.*Закуски, Напитки"):
        parse_dodo(no_pizzas, f"{SITE}/moscow")


def test_a_page_in_no_known_layout_names_its_url_and_the_layouts_tried():
    with pytest.raises(NetaError) as caught:
        parse_dodo(b"<html><head><title>Error</title></head><body>Oops</body></html>", f"{SITE}/Kaliningrad")
    message = str(caught.value)
    assert f"{SITE}/Kaliningrad" in message and all(layout in message for layout in LAYOUTS)
    with pytest.raises(NetaError, match="missing.html: cannot read"):
        parse_dodo_file(DATA / "missing.html")


def test_names_prices_and_photo_candidates():
    assert clean_name("  Диабло 🌶️🌶️ ") == "Диабло" and clean_name("Сырная 🌱👶") == "Сырная"
    assert clean_name("Крэйзи\u00a0пицца ") == "Крэйзи пицца" and clean_name("Аррива!") == "Аррива!"
    assert clean_name("Пицца №1 ⭐") == "Пицца №1"
    assert parse_price("от 539 ₽") == 539 and parse_price("1\u00a0299 руб.") == 1299 and parse_price("—") is None
    candidates = srcset_candidates("a_138x138.webp 138w, /b_760x760.png 760w", "https://x.test/menu")
    assert candidates == [("https://x.test/a_138x138.webp", 138), ("https://x.test/b_760x760.png", 760)]
    assert largest_photo([("https://x.test/p_584x584.webp", None), ("https://x.test/p_584x584.jpeg", None),
                          ("https://x.test/p_292x292.jpeg", None)]) == "https://x.test/p_584x584.jpeg"
    assert largest_photo([]) == ""


def test_json_lines_follow_the_column_order_and_keep_cyrillic():
    page = parse_dodo_file(DATA / "popup_2017.html", f"{SITE}/Kaliningrad/Product/pizza-pepperoni")
    [line] = menu_to_json_lines(page).splitlines()
    record = json.loads(line)
    assert list(record) == [*MENU_COLUMNS, "image_urls"] and "Пепперони" in line
    assert record["image_urls"][2] == record["image_url"]


def _item(**fields) -> MenuItem:
    base = dict(pizza_id="p", name="", ingredients="", image_url="", image_urls=(), price=None, custom=False,
                city="", layout="dodo2017", source_url="")
    return MenuItem(**(base | fields))


def test_menu_and_popup_records_merge_the_same_either_way():
    menu = _item(name="Пепперони", ingredients="соус, пепперони", price=385, city="Kaliningrad",
                 image_urls=("thumb.jpg",), source_url="menu")
    popup = _item(name="Пепперони", ingredients="Томатный соус, пепперони", image_url="top.jpg",
                  image_urls=("a.jpg", "b.jpg", "top.jpg"), source_url="popup", city="Kaliningrad")
    merged = merge_menu_records(menu, popup)
    assert merged == merge_menu_records(popup, menu)
    assert (merged.ingredients, merged.image_url, merged.price, merged.source_url, len(merged.image_urls)) == (
        "Томатный соус, пепперони", "top.jpg", 385, "popup", 3)


def test_menu_csv_is_sorted_utf8_with_nullable_prices(tmp_path):
    items = [_item(pizza_id="b", name="Бэ", ingredients="x, y", price=None, custom=True),
             _item(pizza_id="a", name='quote "and", comma', ingredients="z", image_url="http://x.test/a.jpg",
                   price=385)]
    write_menu_csv(items, tmp_path / "menu.csv")
    lines = (tmp_path / "menu.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(MENU_COLUMNS)
    assert lines[1] == 'a,"quote ""and"", comma",z,http://x.test/a.jpg,385,False,,dodo2017,'
    assert lines[2] == 'b,Бэ,"x, y",,,True,,dodo2017,'
    frame = pd.read_csv(tmp_path / "menu.csv")
    assert frame["price"].isna().tolist() == [False, True]
