"""The menu item every Dodo Pizza layout parser produces, and the columns of menu.csv."""

from dataclasses import dataclass

MENU_COLUMNS = ["pizza_id", "name", "ingredients", "image_url", "price", "custom", "city", "layout", "source_url"]


@dataclass(frozen=True)
class MenuItem:
    pizza_id: str            # 2017: product slug of /<City>/Product/<slug>; 2023: id of menu__meta-product_<id>;
                             # menu JSON: the item's id
    name: str                # emoji and decorations stripped, whitespace normalised
    ingredients: str         # the ingredient text as the page gives it, whitespace normalised; "" if none
    image_url: str           # absolute URL of the photo to use (2017: the third popup photo, the top view;
                             # 2023 and JSON: the largest candidate); "" when the page showed none
    image_urls: tuple[str, ...]  # every photo URL found, page order
    price: int | None        # roubles
    custom: bool             # a build-your-own card ("Пицца из половинок", "Соберите свою"): kept, never a recipe
    city: str                # e.g. "Kaliningrad", from the URL path when known, else ""
    layout: str              # "dodo2017" | "dodo2023" | "menu_json"
    source_url: str          # the page it was parsed from
