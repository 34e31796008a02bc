"""Caption metrics: BLEU by hand on a made-up case, CIDEr-D's behaviour, and the gallery's escaping."""

import math

import pytest

from neta.boke.gallery import write_gallery
from neta.boke.metrics import METRICS, caption_scores
from neta.errors import NetaError

REFS = {"p1": [["the", "cat", "sat", "on", "the", "mat"], ["a", "cat", "is", "on", "the", "mat"]]}


def test_bleu_is_clipped_ngram_precision_as_computed_by_hand():
    # unigrams: the x2 (a reference has 2), cat x2 (clipped to 1), on, mat -> 5/6;
    # bigrams: "the cat" twice (clipped to 1) of 5 -> 1/5; 6 tokens, a 6-token reference: no brevity penalty
    scores = caption_scores(REFS, {"p1": ["the", "cat", "the", "cat", "on", "mat"]})
    assert set(scores) == set(METRICS)
    assert scores["BLEU-1"] == pytest.approx(5 / 6, abs=1e-6)
    assert scores["BLEU-2"] == pytest.approx(math.sqrt(5 / 6 * 1 / 5), abs=1e-6)


def test_a_short_caption_pays_the_brevity_penalty():
    scores = caption_scores(REFS, {"p1": ["cat", "on", "the", "mat"]})  # 4 tokens against 6: exp(1 - 6/4)
    assert scores["BLEU-1"] == pytest.approx(math.exp(1 - 6 / 4), abs=1e-6)


def test_cider_rewards_the_reference_and_gives_nothing_to_unrelated_words():
    refs = {**REFS, "p2": [["a", "dog", "runs", "in", "the", "park"], ["the", "dog", "runs", "on", "grass"]]}
    right = caption_scores(refs, {"p1": ["a", "cat", "is", "on", "the", "mat"], "p2": ["a", "dog", "runs", "in", "the",
                                                                                       "park"]})
    wrong = caption_scores(refs, {"p1": ["xylophone", "zebra"], "p2": ["quartz", "violin"]})
    assert right["CIDEr-D"] > 1.0 and wrong["CIDEr-D"] == 0.0 and wrong["BLEU-1"] < 1e-6


def test_photos_must_match_and_have_references():
    with pytest.raises(NetaError, match="different photos"):
        caption_scores(REFS, {"p9": ["a"]})
    with pytest.raises(NetaError, match="no non-empty reference"):
        caption_scores({"p1": [[]]}, {"p1": ["a"]})


def test_the_gallery_escapes_every_text(tmp_path):
    page = tmp_path / "gallery.html"
    write_gallery(page, [{"image": 'images/a"b.jpg', "image_id": "ab" * 32,
                          "generated": [{"text": "<script>alert(1)</script>", "logprob": -1.5}],
                          "references": ["猫 & <b>犬</b>"]}], title="t <i>", summary="s")
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "猫 &amp; &lt;b&gt;犬&lt;/b&gt;" in html and 'src="images/a&quot;b.jpg"' in html and "(-1.50)" in html
