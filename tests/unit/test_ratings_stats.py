"""The ratings' statistics on hand-made judgements: win rates folded over randomised sides, Wilson
intervals, and Krippendorff's alpha against a textbook example and an independent brute force."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from neta.ratings.stats import krippendorff_alpha_nominal, summarise, wilson_interval
from neta.ratings.store import Candidate, Judgement

Z = 1.96
_ids = itertools.count(1)


def judge(winner: str, loser: str, *, winner_left: bool = True, rater: str = "ann", photo: str = "p.jpg",
          texts: tuple[str, str] | None = None, choice: str | None = None) -> Judgement:
    """A judgement of ``winner``'s text against ``loser``'s, ``winner`` standing left or right."""
    first, second = winner, loser
    a_text, b_text = texts or (f"{first} text", f"{second} text")
    a, b = Candidate(a_text, first), Candidate(b_text, second)
    left, right = (a, b) if winner_left else (b, a)
    if choice is None:
        choice = "left" if winner_left else "right"
    return Judgement(id=next(_ids), rater=rater, kind="boke", photo=photo, left=left, right=right, checkpoint="c",
                     choice=choice, created_at="2024-01-01T00:00:00+00:00")


# --- Wilson -------------------------------------------------------------------------------------------
def test_wilson_interval_of_all_successes_has_the_closed_form_lower_bound():
    for n in (1, 5, 12, 100):
        low, high = wilson_interval(n, n)
        # p = 1: (1 + z²/2n - z·sqrt(z²/4n²)) / (1 + z²/n) = 1 / (1 + z²/n) = n / (n + z²)
        assert low == pytest.approx(n / (n + Z * Z)) and high == pytest.approx(1.0)
        assert wilson_interval(0, n) == pytest.approx((0.0, 1 - n / (n + Z * Z)))


def test_wilson_interval_known_values_and_symmetry():
    low, high = wilson_interval(5, 10)  # p = 0.5: 0.5 ± 1.96·sqrt(0.025 + 0.0096)/1.384
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_interval(81, 263)  # by hand: p = 0.30798, centre 0.31075, half 0.05546
    assert (low, high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    for k in range(8):
        lo, hi = wilson_interval(k, 7)
        mirror_lo, mirror_hi = wilson_interval(7 - k, 7)
        assert lo == pytest.approx(1 - mirror_hi) and hi == pytest.approx(1 - mirror_lo)
        assert 0 <= lo <= k / 7 <= hi <= 1
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# --- win rates ----------------------------------------------------------------------------------------
def test_a_source_that_always_wins_has_rate_one_on_either_side():
    judgements = [judge("model_top1", "real", winner_left=i % 2 == 0) for i in range(12)]
    summary = summarise(judgements)
    assert summary["judgements"] == 12 and summary["skips"] == 0 and summary["raters"] == 1
    [pair] = summary["pairs"]
    assert (pair["a"], pair["b"], pair["a_wins"], pair["b_wins"], pair["neither"], pair["n"]) == (
        "model_top1", "real", 12, 0, 0, 12)
    assert pair["a_rate"] == 1.0
    assert pair["a_ci"][0] == pytest.approx(12 / (12 + Z * Z)) and pair["a_ci"][1] == pytest.approx(1.0)
    assert summary["sources"]["model_top1"]["win_rate"] == 1.0
    assert summary["sources"]["real"] == {"wins": 0, "losses": 12, "neither": 0, "n": 12, "win_rate": 0.0,
                                          "ci": pytest.approx([0.0, 1 - 12 / (12 + Z * Z)])}
    json.dumps(summary)  # JSON-able


def test_the_pair_is_named_in_source_order_whichever_won_or_stood_left():
    summary = summarise([judge("most_frequent", "model_sample", winner_left=False)])
    [pair] = summary["pairs"]
    assert (pair["a"], pair["b"], pair["a_wins"], pair["b_wins"], pair["a_rate"]) == (
        "model_sample", "most_frequent", 0, 1, 0.0)


def test_a_tie_is_one_half_with_an_interval_symmetric_about_it():
    judgements = [judge("real", "baseline", winner_left=i % 3 == 0) for i in range(5)]
    judgements += [judge("baseline", "real", winner_left=i % 2 == 0) for i in range(5)]
    [pair] = summarise(judgements)["pairs"]
    assert (pair["a_wins"], pair["b_wins"], pair["neither"], pair["n"], pair["a_rate"]) == (5, 5, 0, 10, 0.5)
    low, high = pair["a_ci"]
    assert low == pytest.approx(1 - high) and (low, high) == pytest.approx(wilson_interval(5, 10))


def test_neither_counts_in_n_but_not_in_the_rate():
    judgements = [judge("real", "baseline"), judge("real", "baseline"), judge("baseline", "real"),
                  judge("real", "baseline", choice="neither")]
    [pair] = summarise(judgements)["pairs"]
    assert (pair["a_wins"], pair["b_wins"], pair["neither"], pair["n"]) == (2, 1, 1, 4)
    assert pair["a_rate"] == pytest.approx(2 / 3)
    assert summarise(judgements)["sources"]["real"]["neither"] == 1


def test_a_rater_who_always_picks_left_gives_each_source_about_half():
    """Sides are drawn at random, so always-left is a coin toss between the sources; the folding must
    credit the source that stood left, not a fixed one."""
    rng = random.Random(7)
    judgements, top1_left = [], 0
    for _ in range(400):
        left_is_top1 = rng.random() < 0.5
        top1_left += left_is_top1
        judgements.append(judge("model_top1" if left_is_top1 else "baseline",
                                "baseline" if left_is_top1 else "model_top1", winner_left=True, rater="lefty"))
    assert all(j.choice == "left" for j in judgements)
    summary = summarise(judgements)
    [pair] = summary["pairs"]
    assert (pair["a"], pair["b"]) == ("model_top1", "baseline")
    assert pair["a_wins"] == top1_left and pair["b_wins"] == 400 - top1_left  # exactly where top1 stood left
    assert 0.4 < pair["a_rate"] < 0.6 and pair["a_ci"][0] < 0.5 < pair["a_ci"][1]
    assert summary["sources"]["baseline"]["win_rate"] == pytest.approx(1 - pair["a_rate"])


def test_skips_count_apart_and_same_source_pairs_say_nothing_about_sources():
    judgements = [judge("real", "baseline", rater="ann"), judge("real", "baseline", rater="bob", choice="skip"),
                  judge("real", "real", rater="cat", texts=("one", "two")), judge("real", "baseline", rater="ann")]
    summary = summarise(judgements)
    assert summary["judgements"] == 3 and summary["skips"] == 1
    assert summary["raters"] == 2  # bob only skipped
    assert [(p["a"], p["b"], p["n"]) for p in summary["pairs"]] == [("real", "baseline", 2)]
    assert summarise([])["pairs"] == [] and summarise([])["agreement"]["krippendorff_alpha"] is None


# --- Krippendorff's alpha -----------------------------------------------------------------------------
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example: 4 observers,
# 12 units, missing values, alpha = 0.743. Values a unit (columns of the paper's table, None missing):
TEXTBOOK = [
    [1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, 3, None, None],
]


def brute_force_alpha(units):
    """alpha = 1 - D_o / D_e by enumerating every pair of values: D_o the mean disagreement of pairs within a
    unit (each unit's pairs weighted 1/(m-1)), D_e that of all pairs of pairable values in the data."""
    units = [[v for v in unit if v is not None] for unit in units]
    units = [unit for unit in units if len(unit) >= 2]
    values = [v for unit in units for v in unit]
    n = len(values)
    observed = sum(sum(1 for i, j in itertools.permutations(range(len(u)), 2) if u[i] != u[j]) / (len(u) - 1)
                   for u in units) / n
    expected = sum(1 for i, j in itertools.permutations(range(n), 2) if values[i] != values[j]) / (n * (n - 1))
    return 1 - observed / expected


def test_alpha_of_the_textbook_example():
    units = [[v for v in unit if v is not None] for unit in TEXTBOOK]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha_nominal(units) == pytest.approx(brute_force_alpha(TEXTBOOK))


def test_alpha_agrees_with_the_brute_force_on_random_data():
    rng = random.Random(3)
    for _ in range(20):
        units = [[rng.choice("abc") for _ in range(rng.randint(1, 5))] for _ in range(rng.randint(2, 12))]
        if sum(len(u) for u in units if len(u) > 1) < 2 or len({v for u in units if len(u) > 1 for v in u}) < 2:
            continue
        assert krippendorff_alpha_nominal(units) == pytest.approx(brute_force_alpha(units))


def test_alpha_of_perfect_agreement_is_one_and_of_nothing_paired_none():
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b", "b"], ["neither", "neither"]]) == 1.0
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a", "a"]]) == 1.0  # no variation: 0/0 read as 1
    assert krippendorff_alpha_nominal([["a"], ["b"], []]) is None
    assert krippendorff_alpha_nominal([["a", "b"], ["b", "a"]]) == pytest.approx(-0.5)  # 1 - 3·4/8


def test_summarise_measures_agreement_over_units_rated_twice_or_more():
    top1, real = ("joke one", "caption one")
    unit1 = [  # photo 1, the same two texts, sides swapped between raters
        judge("model_top1", "real", photo="1.jpg", texts=(top1, real), rater="ann", winner_left=True),
        judge("model_top1", "real", photo="1.jpg", texts=(top1, real), rater="bob", winner_left=False),
        judge("real", "model_top1", photo="1.jpg", texts=(real, top1), rater="cat"),
        judge("real", "model_top1", photo="1.jpg", texts=(real, top1), rater="dan", choice="skip"),  # not a value
    ]
    unit2 = [judge("real", "baseline", photo="2.jpg", texts=("r2", "b2"), rater=r) for r in ("ann", "bob")]
    single = [judge("real", "baseline", photo="3.jpg", texts=("r3", "b3"))]  # rated once: not a unit
    other_texts = [judge("real", "baseline", photo="1.jpg", texts=("r1", "b1"))]  # photo 1, other pair: once
    agreement = summarise(unit1 + unit2 + single + other_texts)["agreement"]
    # values: unit 1 [top1, top1, real], unit 2 [real, real]. Coincidences: o(top1,top1) = 2/2 = 1,
    # o(top1,real) = o(real,top1) = 2/2 = 1, o(real,real) = 2/1 = 2; n_top1 = 2, n_real = 3, n = 5.
    # alpha = 1 - (n-1)·(o(top1,real) + o(real,top1)) / (2·n_top1·n_real) = 1 - 4·2/12 = 1/3.
    assert agreement == {"krippendorff_alpha": pytest.approx(1 / 3), "units": 2, "judgements": 5}
    assert math.isclose(brute_force_alpha([["model_top1", "model_top1", "real"], ["real", "real"]]), 1 / 3)


def test_neither_is_a_value_of_its_own_in_the_agreement():
    pair = ("a joke", "a caption")
    judgements = [judge("model_top1", "real", photo="1.jpg", texts=pair, rater="ann"),
                  judge("model_top1", "real", photo="1.jpg", texts=pair, rater="bob", choice="neither")]
    # one unit [top1, neither]: o(top1,neither) = o(neither,top1) = 1/(2-1) = 1, n_top1 = n_neither = 1,
    # n = 2: alpha = 1 - (n-1)·2 / (2·1·1) = 0
    assert summarise(judgements)["agreement"]["krippendorff_alpha"] == pytest.approx(0.0)
