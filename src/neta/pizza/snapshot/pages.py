"""HTML of the Dodo Pizza snapshot's pages: the 2017 menu, product popup and product page, the 2023 menu.

Each renderer gets plain dicts (pizza: slug, name, ingredients, price, nutrition, photos_2017,
product_id, photos_2023, badge) and root-relative URLs, so the snapshot works on whatever port
serves it. The markup follows the live site's structure in each year; the 2023 page's class names
are build hashes there, so here they are made-up hashes too, and only the structure means anything.
"""

from __future__ import annotations

import hashlib
from html import escape

SITE = "Додо Пицца"
CITIES_2017 = (("Kaliningrad", "Калининград"), ("Moscow", "Москва"), ("Syktyvkar", "Сыктывкар"))


def _e(text: str) -> str:
    return escape(text, quote=True)


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8"><title>{_e(title)}</title></head>\n'
            f"<body>\n{body}\n</body></html>\n")


# --- 2017 ------------------------------------------------------------------------------------------

def _cities_2017() -> str:
    items = "".join(f'<div class="cities_list_item"><a href="/{path}">{_e(name)}</a></div>'
                    for path, name in CITIES_2017)
    return f'<div class="cities_list cities_list_active">{items}</div>'


def _price_2017(price: int) -> str:
    return (f'<div class="prod_price_value"><span class="value">{price}</span> '
            '<span class="currency">₽</span></div>')


def _prod_block(pizza: dict, city: str) -> str:
    link = f"/{city}/Product/{pizza['slug']}"
    return (
        f'<div class="prod_block" data-product="{_e(pizza["slug"])}">'
        f'<a class="prod_img" href="{link}"><img src="{pizza["photos_2017"][0]}" alt="{_e(pizza["name"])}"></a>'
        f'<h3 class="prod_header"><a href="{link}"><span>{_e(pizza["name"])}</span></a></h3>'
        f'<div class="prod_contains">{_e(pizza["ingredients"])}</div>'
        f'<div class="prod_price">{_price_2017(pizza["price"])}<a class="button prod_to_cart" href="#">В корзину</a>'
        "</div></div>"
    )


def menu_2017(pizzas: list[dict], *, city: str, city_name: str) -> str:
    """The city menu: every pizza a ``div.prod_block`` in ``div.prod_pizzas``, then a combo block
    (not a pizza: its link is not a product link)."""
    blocks = "\n".join(_prod_block(pizza, city) for pizza in pizzas)
    combo = (f'<div class="prod_combos"><div class="prod_block"><h3 class="prod_header">'
             f'<a href="/{city}/ComboDetails/combo-2"><span>Комбо на двоих</span></a></h3>'
             '<div class="prod_contains">Две пиццы 25 см и напиток</div></div></div>')
    body = (f'<div class="header"><a class="logo" href="/{city}">{SITE}</a>{_cities_2017()}</div>\n'
            f'<h1>Пицца в {_e(city_name)}е</h1>\n<div class="prod_pizzas">\n{blocks}\n</div>\n{combo}')
    return _document(f"{SITE} {city_name} — доставка пиццы", body)


def popup_2017(pizza: dict) -> str:
    """What the product URL answers the site's own script: the popup fragment, three photos."""
    slides = "".join(f'<li><img src="{src}" alt="{_e(pizza["name"])}"></li>' for src in pizza["photos_2017"])
    n = pizza["nutrition"]
    values = (f'<div class="prod_values">Пищевая ценность на 100 г: <span id="kiloCalories">{_e(n["kiloCalories"])}'
              f'</span> ккал, углеводы <span id="carbohydrates">{_e(n["carbohydrates"])}</span> г, белки '
              f'<span id="proteins">{_e(n["proteins"])}</span> г, жиры <span id="fats">{_e(n["fats"])}</span> г. '
              f'<span id="sizeValue">{_e(n["size"])}</span> см, <span id="weightValue">{_e(n["weight"])}</span> г'
              "</div>")
    return (
        f'<div class="popup_prod_cont" data-product="{_e(pizza["slug"])}">\n'
        f'<div class="product_slides"><ul class="slides">{slides}</ul></div>\n'
        f'<div class="popup_prod_info"><h2 class="popup_prod_header">{_e(pizza["name"])}</h2>\n'
        f'<div class="prod_contains">{_e(pizza["ingredients"])}</div>\n{values}\n{_price_2017(pizza["price"])}\n'
        '<a class="button prod_to_cart" href="#">В корзину</a></div>\n</div>\n'
    )


def product_page_2017(pizza: dict, *, city: str, city_name: str) -> str:
    """What the product URL answers a browser: the site around the same popup block."""
    body = (f'<div class="header"><a class="logo" href="/{city}">{SITE}</a>{_cities_2017()}</div>\n'
            f'<div class="popup_page">{popup_2017(pizza)}</div>')
    return _document(f"{pizza['name']} — {SITE} {city_name}", body)


def home_2017() -> str:
    """The site root: the city chooser (not a menu)."""
    return _document(f"{SITE} — выберите город", f"<h1>{SITE}</h1>{_cities_2017()}")


# --- 2023 ------------------------------------------------------------------------------------------

def _hashed_class(role: str) -> str:
    digest = hashlib.md5(role.encode()).hexdigest()
    return f"sc-{digest[:6]} {digest[6:11].upper()}"


def _card_2023(pizza: dict, city: str) -> str:
    photos = pizza["photos_2023"]  # {side: path}, smallest first
    srcset = ",".join(f"{path} {side}w" for side, path in photos.items())
    name = f"{pizza['name']} {pizza['badge']}".strip()
    picture_type = "ProductFromHalves" if pizza.get("halves") else "Product"
    return (
        f'<article class="{_hashed_class("card")}" data-testid="menu__meta-product_{pizza["product_id"]}">'
        f'<main class="{_hashed_class("card-main")}">'
        f'<picture class="{_hashed_class("picture")}" data-square="true" data-type="{picture_type}">'
        f'<source sizes="(max-width=1279px) 233px, 292px" srcset="{srcset}">'
        f'<img alt="{_e(pizza["name"])}" class="img" src="{next(iter(photos.values()))}" '
        f'title="{_e(pizza["name"])}"></picture>'
        f'<div class="{_hashed_class("title")}" data-gtm-id="product-title">'
        f'<a class="{_hashed_class("link")}" href="/{city}/{pizza["product_id"]}">{_e(name)}</a></div>'
        f'{_e(pizza["ingredients"])}</main>'
        f'<footer class="{_hashed_class("footer")}"><div class="product-control-price">от {pizza["price"]} ₽</div>'
        f'<button class="{_hashed_class("button")} product-control" data-testid="product__button" type="button">'
        "Выбрать</button></footer></article>"
    )


def _section_2023(section_id: str | None, heading: str, cards: list[str]) -> str:
    anchor = f' id="{section_id}"' if section_id else ""
    return (f'<section class="{_hashed_class("section")}"{anchor}><h2 class="{_hashed_class("heading")}">'
            f"{_e(heading)}</h2>{''.join(cards)}</section>")


def menu_2023(pizzas: list[dict], *, city: str, city_name: str, frequent: int = 3) -> str:
    """The React-rendered menu: a "Часто заказывают" strip (the first ``frequent`` pizzas again),
    then the pizza section ``section#guzhy`` with every pizza card, build-your-own cards included."""
    cards = [_card_2023(pizza, city) for pizza in pizzas]
    sections = (_section_2023(None, "Часто заказывают", cards[:frequent]) + _section_2023("guzhy", "Пиццы", cards))
    body = (f'<div id="react-app"><header><a href="/{city}">{SITE}</a> <span>{_e(city_name)}</span></header>'
            f'<main class="{_hashed_class("menu")}">{sections}</main></div>')
    return _document(f"{SITE} {city_name}", body)
