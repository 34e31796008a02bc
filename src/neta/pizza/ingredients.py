"""One pizza's ingredient text -> its list of ingredient names, in menu order.

The steps, in this order (each one is tested on its own):

1. Unicode NFC, lower case, ``ё`` -> ``е``; stress marks, emoji joiners and variation selectors go.
2. Parenthesised remarks go, with their contents: ``говядина (фарш)`` -> ``говядина``. A remark says
   how an ingredient is cut or prepared, not what it is, and a comma inside one must not split it.
3. Split on commas, then on the word ``и`` (``увеличенные порции цыпленка и пепперони``).
4. Portion phrases at the start of a part: ``увеличенная порция`` / ``увеличенные порции`` are dropped
   (the ingredient stays once), ``двойная порция`` / ``двойные порции`` make it appear twice. A portion
   phrase carries on to the following ``и`` parts of the same comma item until another one, so the
   ``пепперони`` of ``увеличенные порции цыпленка и пепперони`` is under it too.
5. Any character other than a letter, a digit or a hyphen (dots, quotes, emoji, symbols) becomes a
   space; spaces collapse.
6. Lemmatisation of the phrase (:mod:`neta.pizza.lemmas`): a portion phrase governs the genitive
   (``порция моцареллы``), so the lemmatiser is told which case to expect.
7. The caller's alias table, applied once to the lemmatised phrase (``сыр моцарелла`` -> ``моцарелла``):
   after lemmatisation, so one alias covers every inflection of a phrase and its keys are written in the
   plain dictionary form that ``recipes.json`` shows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import NamedTuple

from neta.errors import NetaError
from neta.pizza.lemmas import PhraseLemmatiser

# portion phrase -> times the ingredient it introduces appears in the recipe
PORTION_TIMES = {
    "увеличенная порция": 1,
    "увеличенные порции": 1,
    "двойная порция": 2,
    "двойные порции": 2,
}
_PORTION = re.compile(r"^(" + "|".join(map(re.escape, PORTION_TIMES)) + r")(?:\s+|$)")
_PARENTHESISED = re.compile(r"\([^()]*\)")
# "и" as a word: not inside a word, nor a hyphenated one (кисло-сладкий stays whole)
_AND = re.compile(r"(?<![\w-])и(?![\w-])")
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-"})


class IngredientPhrase(NamedTuple):
    words: str  # cleaned, not yet lemmatised
    times: int  # 2 for a double portion
    genitive: bool  # governed by a portion phrase ("порция моцареллы")


def fold_text(text: str) -> str:
    """NFC, lower case, ``ё`` -> ``е``, without combining marks and invisible format characters."""
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    # Mn: stress accents and emoji variation selectors; Me: enclosing marks; Cf: zero-width joiners
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))


def clean_words(text: str) -> str:
    """Letters, digits and inner hyphens only, single-spaced."""
    text = text.translate(_HYPHENS)
    kept = "".join(ch if ch.isalnum() or ch == "-" else " " for ch in text)
    return " ".join(word.strip("-") for word in kept.split() if word.strip("-"))


def split_ingredient_text(text: str) -> list[IngredientPhrase]:
    """Steps 1-5 of the module docstring: the phrases of one ingredient text, in menu order."""
    text = fold_text(text)
    while _PARENTHESISED.search(text):  # inner remarks first, so nested ones go too
        text = _PARENTHESISED.sub(" ", text)
    phrases = []
    for item in text.split(","):
        times, genitive = 1, False
        for part in _AND.split(item):
            part = clean_words(part)
            if match := _PORTION.match(part):
                times, genitive = PORTION_TIMES[match.group(1)], True
                part = part[match.end():]
            if part:
                phrases.append(IngredientPhrase(part, times, genitive))
    return phrases


def clean_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """The alias table with keys and values folded like menu text (case, ``ё``, spacing)."""
    cleaned = {}
    for key, value in aliases.items():
        phrase, canonical = clean_words(fold_text(key)), clean_words(fold_text(value))
        if not phrase or not canonical:
            raise NetaError(f"pizza.recipes.aliases: {key!r}: {value!r} has an empty side after cleaning; "
                            "both sides must name an ingredient")
        cleaned[phrase] = canonical
    return cleaned


def normalise_ingredients(text: str, *, lemmatiser: PhraseLemmatiser, aliases: Mapping[str, str]) -> list[str]:
    """The ingredient names of one pizza's text; ``aliases`` as returned by :func:`clean_aliases`."""
    names = []
    for phrase in split_ingredient_text(text):
        lemma = lemmatiser.lemmatise(phrase.words, genitive=phrase.genitive)
        names.extend([aliases.get(lemma, lemma)] * phrase.times)
    return names
