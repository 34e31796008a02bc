"""Dictionary forms of Russian ingredient phrases, so inflections of one ingredient merge.

A phrase is an optional run of adjectives, a head noun, and optional words after it:
``красного лука`` -> ``красный лук``, ``охотничьи колбаски`` -> ``охотничья колбаска``,
``сыра моцарелла`` -> ``сыр моцарелла``.

- The head is the first word that can be a noun and cannot be an adjective or participle (so
  ``сладкого`` in ``сладкого перца`` is not taken for the noun ``сладкое``); failing that, the last
  word that can be a noun (``мороженое``). It becomes its dictionary form: nominative singular, or
  nominative plural for a plural-only noun.
- Of the head's readings, the one agreeing with the adjectives before it wins (``красного лука`` is
  the genitive of ``лук``, not the name ``Лука``), then the one in the expected case (genitive after
  a portion phrase, else nominative), then pymorphy3's most likely one. Proper-name readings count
  only when there is no other.
- Adjectives and participles agreeing with the head, before it or right after it (``соус сливочный``),
  are put in the head's dictionary gender and number, nominative (pymorphy3's ``inflect``).
- Any other word stays as written: a noun after the head is an apposition (``соус барбекю``,
  already nominative) or a complement (``соус из томатов``) whose case belongs to the phrase.

Unknown words (``моцареллы``) are read by pymorphy3's guesser; words it cannot read at all are kept.
"""

from __future__ import annotations

import pymorphy3

_NAME_TAGS = ("Name", "Surn", "Patr", "Geox", "Orgn", "Trad")
_ADJECTIVES = ("ADJF", "PRTF")


def _nouns(parses: list) -> list:
    nouns = [p for p in parses if p.tag.POS == "NOUN"]
    common = [p for p in nouns if not any(tag in p.tag for tag in _NAME_TAGS)]
    return common or nouns


def _agrees(adjective, noun) -> bool:
    tag, head = adjective.tag, noun.tag
    return (tag.POS in _ADJECTIVES and tag.case == head.case and tag.number == head.number
            and (head.number == "plur" or tag.gender == head.gender))


def _prefer(candidates: list, keep) -> list:
    """The candidates ``keep`` accepts, or all of them when it accepts none."""
    return [c for c in candidates if keep(c)] or candidates


class PhraseLemmatiser:
    """pymorphy3's Russian analyser (~0.5 s to load, so make one a stage run) and a cache of phrases."""

    def __init__(self) -> None:
        self._morph = pymorphy3.MorphAnalyzer(lang="ru")
        self._done: dict[tuple[str, bool], str] = {}

    def lemmatise(self, phrase: str, *, genitive: bool) -> str:
        """The dictionary form of a cleaned phrase (lower case, single-spaced)."""
        key = (phrase, genitive)
        if key not in self._done:
            self._done[key] = self._lemmatise(phrase.split(), "gent" if genitive else "nomn").replace("ё", "е")
        return self._done[key]

    def _lemmatise(self, words: list[str], case: str) -> str:
        parses = [self._morph.parse(word) for word in words]
        head = self._head_index(parses)
        if head is None:
            return " ".join(words)
        before = parses[:head]
        readings = _prefer(_nouns(parses[head]),
                           lambda n: all(any(_agrees(a, n) for a in word) for word in before))
        noun = _prefer(readings, lambda n: n.tag.case == case)[0]
        lemma = noun.normalized
        target = {"nomn", lemma.tag.number} | ({lemma.tag.gender} if lemma.tag.number == "sing" else set())

        def agreeing(index: int) -> str | None:
            adjective = next((a for a in parses[index] if _agrees(a, noun)), None)
            inflected = adjective.inflect(target) if adjective else None
            return inflected.word if inflected else None

        out = [agreeing(i) or words[i] for i in range(head)] + [lemma.word]
        after = head + 1
        while after < len(words) and (word := agreeing(after)):  # postposed adjectives: соус сливочный
            out.append(word)
            after += 1
        return " ".join(out + words[after:])

    @staticmethod
    def _head_index(parses: list[list]) -> int | None:
        can_be_noun = [any(p.tag.POS == "NOUN" for p in word) for word in parses]
        for index, word in enumerate(parses):
            if can_be_noun[index] and not any(p.tag.POS in _ADJECTIVES for p in word):
                return index
        last = [index for index, noun in enumerate(can_be_noun) if noun]
        return last[-1] if last else None
