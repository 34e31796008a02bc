"""What makes a boke worth reading (neta.boke.quality) and the decoder that prefers such bokes."""

from __future__ import annotations

import pytest
import torch

from neta.boke.decode import decode
from neta.boke.quality import complete_rate, copied_rate, derangement, distinct, grounding, incomplete_reason
from neta.boke.tokens import Tokenizer
from neta.boke.vocab import Vocabulary


@pytest.fixture(scope="module")
def tokenize():
    return Tokenizer("ja")


@pytest.mark.parametrize(("text", "reason"), [
    ("月面、思ったより駐車場が少ない", None),
    ("「すみません、ここ月ですか？」「いえ、グレーです」", None),
    ("夜勤明けの肌", None),
    ("足跡つけたの誰？ 掃除したばっかりなのに", "ends with the particle に (格助詞)"),
    ("月面の駐車場は", "ends with the particle は (係助詞)"),
    ("「月面の", "「 and 」 unbalanced"),
    ("月面の駐車場、", "ends with 、"),
    ("草", "fewer than 3 tokens"),
    ("「もう少し右…右…そこ！ 誰もいないけど！」", "a token twice in a row"),
])
def test_the_completeness_definition(tokenize, text, reason):
    assert incomplete_reason(tokenize(text), finished=True, language="ja") == reason


def test_a_boke_cut_at_max_len_or_without_content_is_incomplete(tokenize):
    assert incomplete_reason(tokenize("夜勤明けの肌"), finished=False, language="ja") == "no <eos> before max_len"
    assert incomplete_reason(["「", "」", "！"], finished=True, language="ja") == "no content word"
    assert incomplete_reason(["a", "dog", "runs"], finished=True, language="en") is None


def test_complete_rate_counts_a_repeat_within_a_photo_as_incomplete(tokenize):
    def boke(text):
        tokens = tokenize(text)
        return {"tokens": tokens, "complete": incomplete_reason(tokens, finished=True, language="ja") is None}

    good, other, cut = boke("夜勤明けの肌"), boke("月面、思ったより駐車場が少ない"), boke("月面は")
    assert not cut["complete"]
    assert complete_rate([[good, other], [good, cut]]) == 0.75
    assert complete_rate([[good, good, other, good, other]]) == 0.4


def test_grounding_tells_a_model_that_reads_the_photo_from_one_that_ignores_it():
    refs = {f"p{i}": [f"w{i} x{i} y{i} z{i}".split(), f"w{i} x{i} q{i}".split()] for i in range(6)}
    perfect = {photo: captions[0] for photo, captions in refs.items()}
    grounded = grounding(refs, perfect, seed=0)
    assert grounded["own"] > 1 and grounded["control"] == 0 and grounded["ratio"] is None
    blind = {photo: "w0 x0 y0 z0".split() for photo in refs}  # the same boke for every photo
    ignored = grounding(refs, blind, seed=0)
    assert ignored["own"] > 0 and ignored["ratio"] == pytest.approx(1.0)  # the same credit either way
    half = {**perfect, **{photo: "w0 x0 y0 z0".split() for photo in list(refs)[3:]}}
    assert grounding(refs, half, seed=0)["ratio"] >= 3  # three photos read, three ignored
    assert grounding(refs, half, seed=0) == grounding(refs, half, seed=0)  # seeded
    order = derangement(7, seed=1)
    assert sorted(order) == list(range(7)) and not any(order == range(7))


def test_copied_rate_and_distinct_n():
    training = {("a", "b", "c")}
    assert copied_rate([["a", "b", "c"], ["a", "b"]], training) == 0.5
    assert distinct([["a", "b"], ["a", "c"]], 1) == 0.75
    assert distinct([["a", "b"], ["a", "b"]], 2) == 0.5


class _Beam:
    """A stand-in model whose beam search returns fixed captions, best first."""

    def __init__(self, captions):
        self.captions = captions

    def beam_search(self, vectors, *, top, **_):
        return [self.captions[:top] for _ in range(len(vectors))]


def test_the_decoder_reports_complete_bokes_first_each_group_in_the_beams_order(tokenize):
    texts = ["月面の駐車場は", "夜勤明けの肌", "「月面の", "月面、思ったより駐車場が少ない", "月見団子、現地調達できず"]
    words = sorted({w for text in texts for w in tokenize(text)})
    vocab = Vocabulary.build([words], min_count=1)
    beam = _Beam([(vocab.encode(tokenize(text))[1:-1], -float(i)) for i, text in enumerate(texts)])
    kwargs = {"language": "ja", "beam": 5, "max_len": 30, "length_norm": True, "no_repeat": True}
    ranked = decode(beam, torch.zeros(1, 4), vocab, top=3, prefer_complete=True, **kwargs)[0]
    assert [c["text"] for c in ranked] == [texts[1], texts[3], texts[4]] and all(c["complete"] for c in ranked)
    plain = decode(beam, torch.zeros(1, 4), vocab, top=3, prefer_complete=False, **kwargs)[0]
    assert [c["text"] for c in plain] == texts[:3] and [c["complete"] for c in plain] == [False, True, False]
