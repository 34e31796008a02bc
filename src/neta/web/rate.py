"""The Rate page's pairs: two bokes of one photo from two different sources, shown blind.

A pair is drawn here and kept here: the browser gets an opaque random token, the photo and the two
texts, never which source wrote which. The choice comes back with the token, and only then is the
pair (with its sources and the checkpoint that wrote the model's bokes) written to the ratings store.
The pairs waiting for a choice live in the server's memory, at most :data:`PENDING_MAX` of them and
for :data:`PENDING_TTL_S` seconds; a server restarted forgets them (the page then draws a new pair).
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RATER_COOKIE = "neta_rater"
RATER_ID = re.compile(r"[0-9a-f]{32}")  # what the app puts in the cookie; anything else is replaced
RATER_COOKIE_AGE_S = 365 * 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
PENDING_MAX = 10_000  # pairs shown and not judged yet; the oldest is forgotten past this
PENDING_TTL_S = 4 * 3600  # a pair left longer than this is forgotten (judging it is then a 404)
JUDGED_MAX = 10_000  # tokens judged, remembered so a second submit of one is answered "already counted"


def new_rater() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Shown:
    """A pair as shown: who saw it, the photo, the two candidates (``Candidate(text, source)``) in the
    order shown, the sha256 of the captioner that wrote the model's bokes, and the kind of thing rated."""

    rater: str
    photo: str
    left: Any
    right: Any
    checkpoint: str
    kind: str
    shown_at: float


class UnknownPair(LookupError):
    """A token never issued, forgotten (too old, too many pairs since, the server restarted) or malformed."""


class OtherRater(PermissionError):
    """A token shown to another rater (another ``neta_rater`` cookie)."""


class PairBook:
    """The pairs shown and not judged yet, by token; thread-safe (waitress answers on several threads).

    :meth:`judge` records a pair once: a token judged a second time answers ``counted=False`` with the
    first judgement's id, also when the two submits race.
    """

    def __init__(self, *, capacity: int = PENDING_MAX, ttl_s: float = PENDING_TTL_S, judged_max: int = JUDGED_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.ttl_s, self.judged_max, self.clock = capacity, ttl_s, judged_max, clock
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, Shown] = OrderedDict()  # oldest first
        self._judged: OrderedDict[str, int | None] = OrderedDict()  # token -> judgement id (None: being recorded)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def _expire(self, now: float) -> None:
        while self._pending:
            token, shown = next(iter(self._pending.items()))
            if now - shown.shown_at <= self.ttl_s and len(self._pending) <= self.capacity:
                break
            del self._pending[token]

    def issue(self, *, rater: str, photo: str, left, right, checkpoint: str, kind: str) -> str:
        """Keep a pair about to be shown; the token the browser answers with."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            self._pending[token] = Shown(rater, photo, left, right, checkpoint, kind, now)
            self._expire(now)
        return token

    def judge(self, token: str, rater: str, record: Callable[[Shown], int]) -> tuple[int | None, bool]:
        """``record(shown)`` once for the pair of ``token``, judged by ``rater``: (its judgement id, True),
        or (the first id, False) when the token was judged already (None while that first is being
        written). UnknownPair, OtherRater otherwise; when ``record`` fails the pair can be judged again."""
        if not TOKEN.fullmatch(token or ""):
            raise UnknownPair(token)
        with self._lock:
            self._expire(self.clock())
            if token in self._judged:
                return self._judged[token], False
            shown = self._pending.get(token)
            if shown is None:
                raise UnknownPair(token)
            if shown.rater != rater:
                raise OtherRater(token)
            del self._pending[token]
            self._judged[token] = None
        try:
            judgement = record(shown)
        except BaseException:
            with self._lock:
                self._judged.pop(token, None)
                self._pending[token] = shown
            raise
        with self._lock:
            self._judged[token] = judgement
            while len(self._judged) > self.judged_max:
                self._judged.popitem(last=False)
        return judgement, True


# --- the candidates of a photo --------------------------------------------------------------------------------


def boke_candidates(real: Sequence[Mapping], *, most_frequent: str | None, top1: str | None, sampled: str | None,
                    rng: random.Random) -> dict[str, str]:
    """The text each source offers for one photo (a source with nothing to offer left out).

    ``real``: the photo's real bokes, most starred first (:attr:`neta.web.boke.BokeData.real`).
    ``baseline`` is a stand-in for a plain (not funny) captioner, which neta does not train: the real
    boke with the fewest stars (of a tie, the last of that order), when the photo has another; ``real``
    is one of the photo's other bokes, drawn at random. Empty texts are no candidates.
    """
    texts = [boke["text"] for boke in real if boke["text"].strip()]
    found: dict[str, str] = {}
    for source, text in (("model_top1", top1), ("model_sample", sampled)):
        if text and text.strip():
            found[source] = text
    if texts:
        baseline = texts[-1]
        others = [text for text in texts if text != baseline]
        if others:
            found["baseline"] = baseline
            found["real"] = rng.choice(others)
        else:
            found["real"] = baseline
    if most_frequent and most_frequent.strip():
        found["most_frequent"] = most_frequent
    return found


def draw_pair(candidates: Mapping[str, str], rng: random.Random) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """Two (source, text) of different sources and different texts, in random order; every such pair
    equally likely. None when there is none (fewer than two sources, or they all wrote the same)."""
    sources = sorted(candidates)
    pairs = [(a, b) for i, a in enumerate(sources) for b in sources[i + 1:] if candidates[a] != candidates[b]]
    if not pairs:
        return None
    pair = list(rng.choice(pairs))
    rng.shuffle(pair)
    return (pair[0], candidates[pair[0]]), (pair[1], candidates[pair[1]])
