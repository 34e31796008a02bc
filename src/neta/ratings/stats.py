"""What the judgements say: which source's text people find funnier, how sure that is, and whether
raters agree.

Sides are drawn at random for every judgement, so left and right mean nothing here: a judgement is
folded into its unordered pair of sources, and a choice becomes "this source won" (or neither).

- **Win rate** of source ``a`` against ``b``: the share of the judgements decided between them that
  ``a`` won, ``wins / (wins + losses)``. ``neither`` counts in ``n`` but not in the rate; ``skip`` counts
  nowhere except ``skips``. A rate of 0.5 is a tie.
- **Wilson score interval** (95 %, z = 1.96) around each rate: unlike the normal approximation it stays
  inside [0, 1] and is honest for a handful of judgements or a rate of 0 or 1.
- **Krippendorff's alpha** (nominal) for the units rated more than once: a unit is one photo with one
  unordered pair of candidate texts, its values the source that won each judgement of it, or
  ``neither``. 1 is perfect agreement, 0 is what chance gives, below 0 systematic disagreement.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence

from neta.ratings.store import SOURCES, Judgement

NEITHER = "neither"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``successes / n``; (0, 1) when ``n`` is 0.

    With p = successes / n: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal values, from the coincidence matrix.

    ``units`` holds each unit's values (one a judgement; missing ones simply left out). Units with
    fewer than two values cannot be paired and are dropped. Each unit with m values adds 1/(m-1) to
    o[c][k] for every ordered pair of its values (c, k) from different judgements; with n_c the row
    sums and n their total, alpha = 1 - (n - 1) · Σ_{c≠k} o[c][k] / Σ_{c≠k} n_c·n_k.

    None when no unit has two values. When every value is the same category there is no variation to
    measure and the formula is 0/0; that perfect agreement is returned as 1.0.
    """
    coincidences: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k  # ordered pairs of different judgements
                coincidences[c, k] += pairs / (m - 1)
    if not coincidences:
        return None
    marginals: dict[Hashable, float] = defaultdict(float)
    for (c, _), count in coincidences.items():
        marginals[c] += count
    n = sum(marginals.values())
    observed = sum(count for (c, k), count in coincidences.items() if c != k)
    expected = sum(marginals[c] * marginals[k] for c in marginals for k in marginals if c != k)
    if expected == 0:
        return 1.0
    return 1.0 - (n - 1) * observed / expected


def _order(source: str) -> tuple[int, str]:
    """Sources in the order of SOURCES; any other (from a newer schema) after them, by name."""
    return (SOURCES.index(source) if source in SOURCES else len(SOURCES), source)


def _rate(wins: int, losses: int) -> tuple[float | None, list[float] | None]:
    decided = wins + losses
    if decided == 0:
        return None, None
    low, high = wilson_interval(wins, decided)
    return wins / decided, [low, high]


def summarise(judgements: Sequence[Judgement]) -> dict:
    """The statistics of ``judgements`` as a JSON-able dict.

    ``judgements`` counts the judgements that were not skipped, ``skips`` the skipped ones, ``raters``
    the distinct raters among the former. ``pairs`` has one entry an unordered pair of sources that
    met (``a`` before ``b`` in :data:`SOURCES`): wins of each, ``neither``, ``n`` (all three), ``a_rate``
    (a's share of the decided ones, None when none was) and its Wilson interval ``a_ci``. ``sources``
    sums each source over every pair it was in. A judgement whose two candidates share a source says
    nothing about sources and is left out of ``pairs`` and ``sources`` (it still counts in the totals
    and the agreement). ``agreement`` is Krippendorff's alpha over the units judged at least twice.
    """
    decided = [j for j in judgements if j.choice != "skip"]
    pair_counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    source_counts: dict[str, Counter] = defaultdict(Counter)
    units: dict[tuple, list[str]] = defaultdict(list)
    for j in decided:
        winner = j.winner()
        units[j.kind, j.photo, frozenset((j.left.text, j.right.text))].append(
            winner.source if winner is not None else NEITHER)
        if j.left.source == j.right.source:
            continue
        a, b = sorted((j.left.source, j.right.source), key=_order)
        pair = pair_counts[a, b]
        if winner is None:
            pair["neither"] += 1
            source_counts[a]["neither"] += 1
            source_counts[b]["neither"] += 1
        else:
            loser = b if winner.source == a else a
            pair["a_wins" if winner.source == a else "b_wins"] += 1
            source_counts[winner.source]["wins"] += 1
            source_counts[loser]["losses"] += 1

    pairs = []
    for (a, b), counts in sorted(pair_counts.items(), key=lambda item: (_order(item[0][0]), _order(item[0][1]))):
        rate, ci = _rate(counts["a_wins"], counts["b_wins"])
        pairs.append({"a": a, "b": b, "a_wins": counts["a_wins"], "b_wins": counts["b_wins"],
                      "neither": counts["neither"], "n": counts["a_wins"] + counts["b_wins"] + counts["neither"],
                      "a_rate": rate, "a_ci": ci})
    sources = {}
    for source in sorted(source_counts, key=_order):
        counts = source_counts[source]
        rate, ci = _rate(counts["wins"], counts["losses"])
        sources[source] = {"wins": counts["wins"], "losses": counts["losses"], "neither": counts["neither"],
                           "n": counts["wins"] + counts["losses"] + counts["neither"], "win_rate": rate, "ci": ci}
    repeated = [values for values in units.values() if len(values) >= 2]
    return {
        "judgements": len(decided),
        "skips": len(judgements) - len(decided),
        "raters": len({j.rater for j in decided}),
        "pairs": pairs,
        "sources": sources,
        "agreement": {"krippendorff_alpha": krippendorff_alpha_nominal(repeated), "units": len(repeated),
                      "judgements": sum(len(values) for values in repeated)},
    }
