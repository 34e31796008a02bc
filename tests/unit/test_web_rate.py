"""The Rate page's pairs without the app: which candidates a photo offers, how a pair is drawn, and the
server-side book of pairs shown (tokens, expiry, one judgement a token, races)."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from neta.ratings.store import SOURCES, Candidate
from neta.web.rate import OtherRater, PairBook, UnknownPair, boke_candidates, draw_pair

REAL = [{"text": "会議、もう終わりました？", "stars": 60}, {"text": "月面で有給申請中", "stars": 45},
        {"text": "ただの通勤です", "stars": 9}]


def test_candidates_of_a_photo_take_the_least_starred_real_boke_as_the_baseline_stand_in():
    rng = random.Random(0)
    found = boke_candidates(REAL, most_frequent="猫", top1="会議", sampled="月面", rng=rng)
    assert set(found) == set(SOURCES)
    assert found["baseline"] == "ただの通勤です" and found["real"] in {"会議、もう終わりました？", "月面で有給申請中"}
    assert {boke_candidates(REAL, most_frequent=None, top1=None, sampled=None, rng=rng)["real"]
            for _ in range(50)} == {"会議、もう終わりました？", "月面で有給申請中"}  # drawn, never the baseline's
    # one real boke: it is the real one and there is no baseline; empty texts offer nothing
    alone = boke_candidates(REAL[:1], most_frequent="", top1="  ", sampled=None, rng=rng)
    assert alone == {"real": "会議、もう終わりました？"}
    assert boke_candidates([], most_frequent=None, top1=None, sampled=None, rng=rng) == {}


def test_a_pair_is_two_sources_with_different_texts_in_random_order():
    rng = random.Random(1)
    candidates = {"model_top1": "同じ", "model_sample": "同じ", "real": "違う", "most_frequent": "同じ"}
    seen = Counter()
    for _ in range(400):
        (left_source, left), (right_source, right) = draw_pair(candidates, rng)
        assert left_source != right_source and left != right
        assert candidates[left_source] == left and candidates[right_source] == right
        seen[left_source, right_source] += 1
    # real against each of the three that wrote alike, on either side
    assert set(seen) == {(a, "real") for a in ("model_top1", "model_sample", "most_frequent")} | {
        ("real", b) for b in ("model_top1", "model_sample", "most_frequent")}
    assert min(seen.values()) > 30
    assert draw_pair({"model_top1": "同じ", "real": "同じ"}, rng) is None
    assert draw_pair({"real": "一つ"}, rng) is None and draw_pair({}, rng) is None


def _issue(book: PairBook, rater: str = "a" * 32) -> str:
    return book.issue(rater=rater, photo="ab" * 32, left=Candidate("左", "real"), right=Candidate("右", "model_top1"),
                      checkpoint="cd" * 32, kind="boke")


def test_a_token_is_judged_once_and_only_by_its_rater():
    book = PairBook()
    token = _issue(book)
    recorded = []
    with pytest.raises(OtherRater):
        book.judge(token, "b" * 32, recorded.append)
    assert book.judge(token, "a" * 32, lambda shown: recorded.append(shown) or 7) == (7, True)
    assert book.judge(token, "a" * 32, lambda shown: recorded.append(shown) or 8) == (7, False)
    assert len(recorded) == 1 and recorded[0].left == Candidate("左", "real") and recorded[0].photo == "ab" * 32
    for bad in ("", "x" * 200, "../../etc", _issue(PairBook())):
        with pytest.raises(UnknownPair):
            book.judge(bad, "a" * 32, recorded.append)


def test_a_failed_record_leaves_the_pair_to_judge_again():
    book = PairBook()
    token = _issue(book)

    def fail(shown):
        raise OSError("disk full")

    with pytest.raises(OSError):
        book.judge(token, "a" * 32, fail)
    assert book.judge(token, "a" * 32, lambda shown: 1) == (1, True)


def test_pairs_are_forgotten_when_too_old_or_too_many():
    now = [0.0]
    book = PairBook(capacity=3, ttl_s=60, clock=lambda: now[0])
    old = _issue(book)
    now[0] = 61
    fresh = [_issue(book) for _ in range(3)]
    with pytest.raises(UnknownPair):
        book.judge(old, "a" * 32, lambda shown: 1)
    assert len(book) == 3
    fresh.append(_issue(book))  # the fourth pushes out the oldest
    with pytest.raises(UnknownPair):
        book.judge(fresh[0], "a" * 32, lambda shown: 1)
    assert book.judge(fresh[-1], "a" * 32, lambda shown: 2) == (2, True)


def test_two_submits_racing_record_one_judgement():
    book = PairBook()
    token = _issue(book)
    started, release = threading.Event(), threading.Event()
    recorded = []

    def slow(shown):
        started.set()
        release.wait(5)
        recorded.append(shown)
        return 1

    answers = []
    first = threading.Thread(target=lambda: answers.append(book.judge(token, "a" * 32, slow)))
    first.start()
    started.wait(5)
    answers.append(book.judge(token, "a" * 32, slow))  # while the first is still being written
    release.set()
    first.join(5)
    assert len(recorded) == 1 and sorted(answers, key=str) == sorted([(None, False), (1, True)], key=str)
