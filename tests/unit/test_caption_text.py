"""Caption tokens (MeCab for Japanese, words for English) and the JSON word vocabulary."""

import json

import pytest

from neta.boke.tokens import Tokenizer, normalise, resolve_language
from neta.boke.vocab import BOS, EOS, PAD, UNK, Vocabulary
from neta.errors import NetaError
from neta.settings import validate_config


@pytest.fixture(scope="module")
def ja():
    return Tokenizer("ja")


def test_normalise_folds_width_and_whitespace():
    assert normalise("　ＡＢＣ　ｄｅｆ\n\t１２３  ｶﾀｶﾅ ") == "ABC def 123 カタカナ"


def test_japanese_surface_forms_with_full_width_spaces_dropped(ja):
    tokens = ja("ＮＡＳＡ　から　電話が　来た！")
    assert tokens == ["NASA", "から", "電話", "が", "来", "た", "!"]
    assert ja("猫が走った") == ["猫", "が", "走っ", "た"]  # surface 走っ, not the lemma 走る
    assert ja("　 \u3000") == []
    assert all(token.strip() == token and token for token in ja("会議、 もう　終わりました？"))


def test_english_words_lower_cased_on_boundaries():
    en = Tokenizer("en")
    assert en("A man's DOG, ２ cats;   it's fine.") == ["a", "man's", "dog", "2", "cats", "it's", "fine"]
    assert en("...!!") == []


def test_language_resolution_and_unknown_languages():
    datasets = ("bokete", "bokete_can", "coco", "karpathy", "oogiri_go")
    assert [resolve_language(d, "auto") for d in datasets] == ["ja", "ja", "en", "en", "ja"]
    assert resolve_language("coco", "ja") == "ja"
    with pytest.raises(NetaError, match=r"config key captioner\.language: 'fr' is not one of"):
        validate_config({"captioner": {"language": "fr"}})
    with pytest.raises(NetaError, match=r"config key captioner\.dataset: 'flickr' is not one of"):
        validate_config({"captioner": {"dataset": "flickr"}})
    with pytest.raises(NetaError, match="'fr'"):  # a checkpoint's language, not the config's
        Tokenizer("fr")


def test_the_schema_rejects_a_min_count_below_1():
    with pytest.raises(NetaError, match=r"config key captioner\.vocab\.min_count: 0 is less than the minimum of 1"):
        validate_config({"captioner": {"vocab": {"min_count": 0}}})


def test_vocabulary_keeps_words_seen_min_count_times_most_frequent_first():
    captions = [["a", "cat", "sits"], ["a", "dog", "sits"], ["a", "cat"], ["the", "bird"]]
    vocab = Vocabulary.build(captions, min_count=2)
    assert vocab.words == [PAD, BOS, EOS, UNK, "a", "cat", "sits"]  # ties (cat, sits: 2) by the word
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert len(vocab) == 7
    assert vocab.encode(["a", "dog", "sits"]) == [1, 4, 3, 6, 2]  # dog seen once -> <unk>
    assert Vocabulary.build(captions, min_count=1).words[7:] == ["bird", "dog", "the"]


def test_special_tokens_in_captions_get_no_second_id():
    vocab = Vocabulary.build([[UNK, "x"], [UNK, "x"]], min_count=1)
    assert vocab.words == [PAD, BOS, EOS, UNK, "x"]


def test_encode_decode_round_trip_skips_pad_bos_and_stops_at_eos(ja):
    tokens = ja("このコーヒー、俺の給料より熱い")
    vocab = Vocabulary.build([tokens], min_count=1)
    ids = vocab.encode(tokens)
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids) == tokens
    assert vocab.decode([vocab.bos_id, 4, 5, vocab.eos_id, 6, vocab.pad_id]) == vocab.words[4:6]
    assert vocab.decode([vocab.pad_id, 4, vocab.pad_id]) == [vocab.words[4]]
    with pytest.raises(NetaError, match="id 99"):
        vocab.decode([4, 99])


def test_json_round_trip_is_plain_json(tmp_path):
    vocab = Vocabulary.build([["猫", "が", "いる"], ["猫", "だ"]], min_count=1)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk["words"] == vocab.words and on_disk["min_count"] == 1
    loaded = Vocabulary.load(path)
    assert loaded == vocab and loaded.encode(["猫", "犬"]) == vocab.encode(["猫", "犬"])
    assert Vocabulary.from_json(vocab.to_json()).words == vocab.words


def test_corrupt_or_wrong_vocab_files_name_the_file(tmp_path):
    path = tmp_path / "vocab.json"
    good = Vocabulary.build([["a"]], min_count=1)
    good.save(path)
    path.write_text(path.read_text(encoding="utf-8")[:25], encoding="utf-8")  # truncated
    with pytest.raises(NetaError, match=r"vocab\.json.*not valid JSON"):
        Vocabulary.load(path)
    for broken, message in [({**good.to_json(), "words": ["a", *good.words]}, "first words"),
                            ({**good.to_json(), "words": [*good.words, "a"]}, "twice"),
                            ({**good.to_json(), "min_count": 0}, "min_count"),
                            ({"words": good.words}, "not a neta vocabulary"),
                            ([1, 2], "must be a JSON object")]:
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(NetaError, match=message) as error:
            Vocabulary.load(path)
        assert str(path) in str(error.value)
    with pytest.raises(NetaError, match="missing.json"):
        Vocabulary.load(tmp_path / "missing.json")
