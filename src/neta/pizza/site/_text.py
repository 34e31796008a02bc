"""Text, price, city and photo helpers shared by the Dodo Pizza layout parsers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

# Emoji, pictographs, skin-tone modifiers, variation selectors, joiners and keycaps: the badges Dodo
# puts after a name ("Сырная 🌱👶", "Диабло 🌶️🌶️"), not part of it.
_DECORATION_CATEGORIES = {"So", "Sk", "Cf", "Co", "Cs", "Me"}
_KEPT_SYMBOLS = {"№"}  # a symbol (So) that is part of a name: "Пицца №1"
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_PRICE = re.compile(r"(\d(?:[\d\s]*\d)?)\s*(?:₽|руб|р\.)", re.IGNORECASE)
_NUMBER = re.compile(r"\d(?:[\d\s]*\d)?")
# Build-your-own cards: "Пицца из половинок", "Соберите свою пиццу", a constructor.
_BUILD_YOUR_OWN = re.compile(r"из половинок|собер\w* сво|конструктор|build your own|half[- ]and[- ]half|halves",
                             re.IGNORECASE)
_CITY = re.compile(r"^[A-Za-z][A-Za-z-]*$")
# First path segments that are parts of the site, not cities.
_NOT_CITIES = {"api", "static", "img", "images", "product", "products", "menu", "robots.txt"}
_SIZE_IN_NAME = re.compile(r"_(\d+)x(\d+)\.\w+$")
# On a tie in size, the format every image library reads first.
_FORMAT_RANK = {"jpg": 0, "jpeg": 0, "png": 1, "webp": 2}


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def clean_name(text: str) -> str:
    """A product name without emoji and decorations, whitespace normalised."""
    text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFC", text))
    kept = "".join(ch for ch in text if ch in _KEPT_SYMBOLS or unicodedata.category(ch) not in _DECORATION_CATEGORIES)
    return normalise_space(kept)


def parse_price(text: str) -> int | None:
    """Roubles in a price text ("от 539 ₽", "1 299 руб."): the number before the currency sign, else
    the first number; thousands may be separated by (non-breaking) spaces."""
    text = unicodedata.normalize("NFKC", text)
    priced = _PRICE.search(text)
    number = priced.group(1) if priced else next(iter(_NUMBER.findall(text)), None)
    return int(re.sub(r"\s", "", number)) if number else None


def is_build_your_own(*texts: str) -> bool:
    return any(_BUILD_YOUR_OWN.search(text) for text in texts if text)


def first_segment(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[0] if segments else ""


def city_of(url: str) -> str:
    """The city a Dodo URL belongs to (``/Kaliningrad/Product/x`` → ``Kaliningrad``), else ""."""
    if urlsplit(url).scheme not in ("http", "https", ""):
        return ""  # a saved file names no city
    segment = first_segment(url)
    return segment if _CITY.match(segment) and segment.lower() not in _NOT_CITIES else ""


def srcset_candidates(srcset: str, base: str) -> list[tuple[str, int | None]]:
    """(absolute URL, width) of each candidate of a ``srcset`` ("a.png 138w, b.png 292w")."""
    candidates = []
    for entry in srcset.split(","):
        parts = entry.split()
        if not parts:
            continue
        width = int(parts[1][:-1]) if len(parts) > 1 and parts[1].endswith("w") and parts[1][:-1].isdigit() else None
        candidates.append((urljoin(base, parts[0]), width))
    return candidates


def largest_photo(candidates: Iterable[tuple[str, int | None]]) -> str:
    """The candidate URL with the largest width (given, or the NxN in its file name); on a tie the
    most widely readable format; "" without candidates."""
    best, best_rank = "", None
    for url, width in candidates:
        if width is None:
            size = _SIZE_IN_NAME.search(urlsplit(url).path)
            width = int(size.group(1)) if size else 0
        extension = urlsplit(url).path.rsplit(".", 1)[-1].lower()
        rank = (width, -_FORMAT_RANK.get(extension, len(_FORMAT_RANK)))
        if best_rank is None or rank > best_rank:
            best, best_rank = url, rank
    return best
