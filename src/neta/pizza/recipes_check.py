"""The structure check of a recipes object (the ``recipes.json`` layout in :mod:`neta.pizza.recipes`).

Beyond types it checks what the one-hot matrices rely on: every slot index is a vocabulary index,
a pizza's leading slots spell its ingredients through the vocabulary and the rest are the empty
class 0, and pizza ids are unique.
"""

from __future__ import annotations

from neta.errors import NetaError

EMPTY = ""  # vocabulary[0], the empty slot: no ingredient name can be empty, so it never collides
TOP_KEYS = ("slots", "vocabulary", "aliases", "pizzas", "custom", "skipped")
ENTRY_TEXT_KEYS = {"pizzas": ("pizza_id", "name"), "custom": ("pizza_id", "name"),
                   "skipped": ("pizza_id", "name", "reason")}


class _Fault(Exception):
    """(key, problem): the first structural fault found."""


def _need(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise _Fault(key, problem)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _indices(value) -> bool:
    # bool is an int subclass; true/false in a slot list is a broken file, not 1/0
    return isinstance(value, list) and all(type(item) is int for item in value)


def _check_pizza(pizza: dict, key: str, slots: int, vocabulary: list[str]) -> None:
    names, indices = pizza.get("ingredients"), pizza.get("slots")
    _need(_strings(names) and len(names) >= 1, f"{key}.ingredients", "not a non-empty list of strings")
    _need(_indices(indices) and len(indices) == slots, f"{key}.slots", f"not a list of {slots} integers")
    _need(all(0 <= i < len(vocabulary) for i in indices), f"{key}.slots",
          f"an index outside the vocabulary (0..{len(vocabulary) - 1})")
    used, padding = indices[:len(names)], indices[len(names):]
    _need(0 not in used and [vocabulary[i] for i in used] == names and not any(padding), f"{key}.slots",
          "does not spell its ingredients through the vocabulary, padded with 0")
    _need(_strings(pizza.get("dropped", [])), f"{key}.dropped", "not a list of strings")


def _check(recipes) -> None:
    _need(isinstance(recipes, dict), "(top level)", "not a JSON object")
    missing = [key for key in TOP_KEYS if key not in recipes]
    _need(not missing, ", ".join(missing), "missing")
    slots, vocabulary, aliases = recipes["slots"], recipes["vocabulary"], recipes["aliases"]
    _need(type(slots) is int and slots >= 1, "slots", "not a positive integer")
    _need(_strings(vocabulary) and vocabulary[:1] == [EMPTY], "vocabulary",
          f"not a list of strings starting with the empty class {EMPTY!r}")
    _need(all(vocabulary[1:]) and len(set(vocabulary)) == len(vocabulary), "vocabulary",
          "holds an empty or repeated ingredient after index 0")
    _need(isinstance(aliases, dict) and _strings(list(aliases.values())), "aliases", "not an object of strings")
    for list_key, text_keys in ENTRY_TEXT_KEYS.items():
        entries = recipes[list_key]
        _need(isinstance(entries, list), list_key, "not a list")
        for i, entry in enumerate(entries):
            bad = [k for k in text_keys if not isinstance(entry, dict) or not isinstance(entry.get(k), str)]
            _need(not bad, f"{list_key}[{i}]", f"no text {', '.join(bad)}")
    ids = [pizza["pizza_id"] for pizza in recipes["pizzas"]]
    _need(all(ids) and len(set(ids)) == len(ids), "pizzas", "an empty or repeated pizza_id")
    for i, pizza in enumerate(recipes["pizzas"]):
        _check_pizza(pizza, f"pizzas[{i}]", slots, vocabulary)


def check_recipes(recipes, *, source: str, fix: str) -> None:
    """Raise NetaError ``<source>: key <key>: <problem>; <fix>`` at the first fault found."""
    try:
        _check(recipes)
    except _Fault as fault:
        key, problem = fault.args
        raise NetaError(f"{source}: key {key}: {problem}; {fix}") from None
