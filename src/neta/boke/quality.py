"""What makes a generated boke worth reading, measured: complete, grounded in its photo, not copied.

**Complete** (a Japanese boke; English captions get the structural checks only): the decoder ended it
with ``<eos>`` before ``max_len``; at least 3 tokens; no token twice in a row; 「 and 」 balanced; it
does not end with 、, 「, a case particle or a binding particle (MeCab's 格助詞 / 係助詞: a trailing が,
を, に, は, も is a sentence cut off); it holds a content word (a noun, pronoun, verb, adjective,
adjectival noun, adverb or interjection). The parts of speech are MeCab's (unidic-lite) on the
boke's own text, not the tokens as the vocabulary split them.

**Grounding** is the photo-shuffled control, the caption twin of the pizza's shuffled-recipe
control: the CIDEr-D of each photo's top boke against its own real bokes, and against another
photo's under a fixed seeded derangement. A model that ignores the photo scores alike on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np

from neta.boke.metrics import caption_scores

CONTENT = {"名詞", "代名詞", "形状詞", "動詞", "形容詞", "副詞", "感動詞"}  # UniDic's pos1 of content words
CUT_OFF_PARTICLES = {"格助詞", "係助詞"}  # a boke ending in one of these stops mid-sentence
BAD_ENDINGS = {"、", "「", ",", "，"}


@cache
def _tagger():
    from neta.boke.tokens import _mecab

    return _mecab()


def _balanced(tokens: Sequence[str]) -> bool:
    depth = 0
    for token in tokens:
        depth += token.count("「") - token.count("」")
        if depth < 0:
            return False
    return depth == 0


def incomplete_reason(tokens: Sequence[str], *, finished: bool, language: str) -> str | None:
    """Why a generated boke is not complete, or None when it is (see the module docstring)."""
    if not finished:
        return "no <eos> before max_len"
    if len(tokens) < 3:
        return "fewer than 3 tokens"
    if any(a == b for a, b in zip(tokens, tokens[1:], strict=False)):
        return "a token twice in a row"
    if not _balanced(tokens):
        return "「 and 」 unbalanced"
    if tokens[-1] in BAD_ENDINGS:
        return f"ends with {tokens[-1]}"
    if language != "ja":
        return None
    words = [word for word in _tagger()("".join(tokens)) if word.surface.strip()]
    if not words:
        return "no words"
    last = words[-1]
    if last.feature.pos1 == "助詞" and last.feature.pos2 in CUT_OFF_PARTICLES:
        return f"ends with the particle {last.surface} ({last.feature.pos2})"
    if not any(word.feature.pos1 in CONTENT for word in words):
        return "no content word"
    return None


def complete_rate(tops: Sequence[Sequence[dict]]) -> float:
    """The share of complete bokes among every photo's top list (the decoders' dicts, each with its
    ``tokens`` and ``complete`` flag); a boke repeated within one photo's list counts as incomplete
    from its second showing."""
    total, good = 0, 0
    for found in tops:
        seen = set()
        for boke in found:
            total += 1
            key = tuple(boke["tokens"])
            if key in seen:
                continue
            seen.add(key)
            good += bool(boke["complete"])
    return good / total if total else float("nan")


def derangement(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of range(n) that moves every index (n >= 2)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        if n < 2 or not (order == np.arange(n)).any():
            return order


def grounding(references: Mapping[str, Sequence[Sequence[str]]], top1: Mapping[str, Sequence[str]], *,
              seed: int) -> dict:
    """CIDEr-D of the top bokes against their own photos' bokes and against a shuffled photo's."""
    photos = list(references)
    if len(photos) < 2:
        return {"own": None, "control": None, "ratio": None, "photos": len(photos)}
    own = caption_scores(references, top1)["CIDEr-D"]
    order = derangement(len(photos), seed)
    shuffled = {photo: references[photos[j]] for photo, j in zip(photos, order, strict=True)}
    control = caption_scores(shuffled, top1)["CIDEr-D"]
    return {"own": round(own, 4), "control": round(control, 4),
            "ratio": round(own / control, 3) if control > 0 else None, "photos": len(photos)}


def copied_rate(top1: Sequence[Sequence[str]], training: set[tuple[str, ...]]) -> float:
    """The share of top bokes identical to a training boke (a generator that only retrieves shows as such)."""
    return sum(tuple(tokens) in training for tokens in top1) / len(top1) if top1 else float("nan")


def distinct(top1: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams over all top bokes, divided by all n-grams (distinct-1, distinct-2)."""
    grams = [tuple(tokens[i : i + n]) for tokens in top1 for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
