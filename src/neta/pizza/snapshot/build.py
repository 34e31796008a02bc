"""Build the offline Dodo Pizza snapshot: the original project's 20 pizzas, served the way the site did.

URL scheme (files as ``neta.scrape.snapshot_server`` maps them):

=========================================  ==========================================  ======================
URL                                        file                                        what
=========================================  ==========================================  ======================
/robots.txt                                robots.txt                                  disallows /Account/ …
/                                          index.html                                  city chooser
/Kaliningrad                               Kaliningrad/index.html                      dodo2017 menu
/Kaliningrad/Product/<slug>  (XHR)         Kaliningrad/Product/<slug>/xhr.html         dodo2017 popup
/Kaliningrad/Product/<slug>  (browser)     Kaliningrad/Product/<slug>/index.html       dodo2017 product page
/moscow                                    moscow/index.html                           dodo2023 menu
/static/Img/Products/Pizza/ru-RU/<id>.jpg  the 2017 popup photos, 710×380 JPEG         three a pizza
/static/Img/Products/<id>_<N>x<N>.jpeg     the 2023 square top views, 292 and 584 px   two a pizza
=========================================  ==========================================  ======================

The pizzas, their ingredient texts (exactly the CSV's ``pizza_contain``), prices and nutrition come
from ``data/dodo_kaliningrad_2017.csv``, the original project's crawl of dodopizza.ru/Kaliningrad,
kept as found. The photos are RENDERED for this project from each recipe
(neta.pizza.snapshot.render); they are not Dodo's photographs. The third popup photo is a 710×380
product shot whose top view is the 380×380 square at x=165, y=0, as in the original. The 2023 copy
of the menu (at /moscow) shows the same pizzas, a few names with emoji badges, and one
build-your-own card. Same seed and same installed packages → byte-identical tree.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import logging
import time
from pathlib import Path

import pandas as pd

from neta.errors import NetaError
from neta.pizza.snapshot import pages
from neta.pizza.snapshot.render import jpeg_bytes, popup_photos, render_top_view
from neta.progress import progress
from neta.scrape.snapshot_server import INDEX_FILE, XHR_FILE, write_tree

log = logging.getLogger(__name__)

DATA_RESOURCE = "dodo_kaliningrad_2017.csv"
DATA_COLUMNS = ("city_name", "city_url", "pizza_name", "pizza_eng_name", "pizza_contain", "pizza_price",
                "kiloCalories", "carbohydrates", "proteins", "fats", "size", "weight")
CITY_2017, CITY_NAME_2017 = "Kaliningrad", "Калининград"
CITY_2023, CITY_NAME_2023 = "moscow", "Москва"
MENU_2017_PATH = f"/{CITY_2017}"   # start path of the 2017 menu
MENU_2023_PATH = f"/{CITY_2023}"   # start path of the 2023 menu
SIDES_2023 = (292, 584)
TOP_VIEW_PHOTO = 2  # the third popup photo
# Badges the 2023 site put after names (the parser strips them): vegetarian, spicy.
BADGES_2023 = {"pizza-margarita": "🌱", "syrnaya-pizza": "🌱👶", "ovoshi-i-griby": "🌱",
               "meksikanskaya-pizza": "🌶️🌶️"}
BUILD_YOUR_OWN = {"slug": "pizza-iz-polovinok", "name": "Пицца из половинок",
                  "ingredients": "Соберите свою пиццу 35 см с двумя разными вкусами", "price": 340, "halves": True,
                  # drawn as two halves' worth of toppings, for its card photo only
                  "render": "Томатный соус, пепперони, ветчина, шампиньоны, моцарелла"}
ROBOTS_TXT = """\
# Offline snapshot of Dodo Pizza for the neta workflow: the 2017 menu of Kaliningrad (the original
# project's 20 pizzas) and a 2023-layout copy; product photos are rendered, not Dodo's.
User-agent: *
Disallow: /Account/
Disallow: /Cart/
Disallow: /api/
"""


def load_dodo_menu() -> list[dict]:
    """The packaged 2017 Kaliningrad menu (``data/dodo_kaliningrad_2017.csv``), one dict a pizza."""
    resource = importlib.resources.files("neta.pizza.snapshot") / "data" / DATA_RESOURCE
    try:
        frame = pd.read_csv(io.BytesIO(resource.read_bytes()), dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise NetaError(f"{resource}: cannot read the packaged menu ({exc}); reinstall neta") from exc
    missing = [column for column in DATA_COLUMNS if column not in frame.columns]
    if missing or frame.empty:
        raise NetaError(f"{resource}: no {', '.join(missing) or 'rows'}; the package data is damaged — reinstall neta")
    return [{
        "slug": row.pizza_eng_name.strip(),
        "name": row.pizza_name,          # as found (one has a trailing space the parser trims)
        "ingredients": row.pizza_contain,
        "price": int(row.pizza_price),
        "nutrition": {key: getattr(row, key) for key in ("kiloCalories", "carbohydrates", "proteins", "fats",
                                                          "size", "weight")},
    } for row in frame.itertuples(index=False)]


def _token(*parts: str) -> str:
    return hashlib.md5(":".join(("neta-dodo", *parts)).encode()).hexdigest()


def site_model(seed: int = 0) -> dict:
    """Every pizza with its photo URLs and 2023 product id, and the build-your-own card."""
    pizzas = load_dodo_menu()
    for pizza in pizzas:
        pizza["photos_2017"] = [f"/static/Img/Products/Pizza/ru-RU/{_uuid(_token(str(seed), pizza['slug'], str(k)))}"
                                ".jpg" for k in range(3)]
        pizza["product_id"] = _token(pizza["slug"]).upper()
        pizza["badge"] = BADGES_2023.get(pizza["slug"], "")
        pizza["photos_2023"] = _photos_2023(_token(str(seed), pizza["slug"], "2023"))
    custom = {**BUILD_YOUR_OWN, "product_id": _token(BUILD_YOUR_OWN["slug"]).upper(), "badge": "",
              "photos_2023": _photos_2023(_token(str(seed), BUILD_YOUR_OWN["slug"], "2023"))}
    return {"pizzas": pizzas, "custom": custom}


def _uuid(hexdigest: str) -> str:
    h = hexdigest
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _photos_2023(token: str) -> dict[int, str]:
    return {side: f"/static/Img/Products/{token}_{side}x{side}.jpeg" for side in SIDES_2023}


def expected_menu(seed: int = 0) -> list[dict]:
    """What a complete crawl of the 2017 menu must find: one dict a pizza, photos as root-relative paths."""
    return [{"pizza_id": p["slug"], "name": " ".join(p["name"].split()),
             "ingredients": " ".join(p["ingredients"].split()), "price": p["price"],
             "image_path": p["photos_2017"][TOP_VIEW_PHOTO], "product_id": p["product_id"]}
            for p in site_model(seed)["pizzas"]]


def _pages(model: dict) -> dict[str, str]:
    """Relative path → HTML text of every page."""
    pizzas = model["pizzas"]
    files = {"robots.txt": ROBOTS_TXT, INDEX_FILE: pages.home_2017(),
             f"{CITY_2017}/{INDEX_FILE}": pages.menu_2017(pizzas, city=CITY_2017, city_name=CITY_NAME_2017),
             f"{CITY_2023}/{INDEX_FILE}": pages.menu_2023([*pizzas, model["custom"]], city=CITY_2023,
                                                          city_name=CITY_NAME_2023)}
    for pizza in pizzas:
        product = f"{CITY_2017}/Product/{pizza['slug']}"
        files[f"{product}/{XHR_FILE}"] = pages.popup_2017(pizza)
        files[f"{product}/{INDEX_FILE}"] = pages.product_page_2017(pizza, city=CITY_2017, city_name=CITY_NAME_2017)
    return files


def _photos(model: dict, seed: int) -> dict[str, bytes]:
    """Relative path → JPEG bytes of every photo, rendered from each recipe."""
    photos: dict[str, bytes] = {}
    for pizza in progress([*model["pizzas"], model["custom"]], desc="snapshot photos", unit="pizza", leave=False):
        top_view = render_top_view(pizza.get("render", pizza["ingredients"]), seed=seed, pizza=pizza["slug"])
        for side, path in pizza["photos_2023"].items():
            photos[path.lstrip("/")] = jpeg_bytes(top_view if side == top_view.width else top_view.resize((side, side)))
        for path, photo in zip(pizza.get("photos_2017", ()), popup_photos(top_view), strict=False):
            photos[path.lstrip("/")] = jpeg_bytes(photo)
    return photos


def build_dodo_snapshot(out_dir: str | Path, *, seed: int) -> dict:
    """Write the snapshot tree to ``out_dir`` (replacing it atomically) and return a summary of it."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    model = site_model(seed)
    files = _pages(model)
    photos = _photos(model, seed)
    total_bytes = write_tree(out_dir, {rel: text.encode("utf-8") for rel, text in files.items()} | photos)
    summary = {
        "out_dir": str(out_dir),
        "seed": seed,
        "pizzas": len(model["pizzas"]),
        "custom_cards": 1,
        "pages": sum(1 for rel in files if rel.endswith(".html")),
        "photos": len(photos),
        "files": len(files) + len(photos),
        "bytes": total_bytes,
        "start_paths": {"dodo2017": MENU_2017_PATH, "dodo2023": MENU_2023_PATH},
    }
    log.info("wrote Dodo Pizza snapshot %s: %d pizzas, %d pages, %d rendered photos, %d bytes in %.2f s", out_dir,
             summary["pizzas"], summary["pages"], summary["photos"], total_bytes, time.perf_counter() - started)
    return summary
