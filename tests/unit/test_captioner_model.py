"""Show and Tell on a synthetic set where the caption is a function of the image vector.

Ten "photo classes", each a random centre vector with its own caption of 3-8 words; a photo is its
class centre plus noise. A model that learns must read the class off the vector and spell its caption.
"""

import copy
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from pycocoevalcap.bleu.bleu import Bleu

from neta.boke.checkpoint import load_captioner, save_captioner
from neta.boke.config import ModelSettings, TrainSettings, VocabSettings
from neta.boke.dataset import FEATURE_ATTRS, CaptionSet, caption_loader
from neta.boke.metrics import perplexity
from neta.boke.model import ShowAndTell
from neta.boke.table import star_weights, write_captions
from neta.boke.train import fit_captioner, plot_loss, train_captioner, write_train_log
from neta.errors import NetaError
from neta.h5io import write_h5
from neta.settings import validate_config

PAD, BOS, EOS = 0, 1, 2
CLASSES, DIM, VOCAB, MAX_LEN = 10, 32, 20, 12
MODES = ("t0", "first_word")
TRAINING = TrainSettings(epochs=10, batch_size=32, lr=1e-2, clip=5.0, patience=3, select="val_loss", min_epochs=0)


def fit(model: ShowAndTell, train: CaptionSet, val: CaptionSet, *, seed: int = 0, **changes) -> list[dict]:
    """fit_captioner on the CPU with TRAINING, ``changes`` to its values."""
    return fit_captioner(model, train, val, training=dataclasses.replace(TRAINING, **changes), device="cpu",
                         seed=seed, pad_id=PAD)


def _model(mode: str, *, vocab_size: int = VOCAB, dropout: float = 0.1, seed: int = 0) -> ShowAndTell:
    torch.manual_seed(seed)
    return ShowAndTell(feature_dim=DIM, vocab_size=vocab_size, embed_size=32, hidden_size=64, layers=1,
                       dropout=dropout, image_input=mode, pad_id=PAD)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CLASSES, DIM)).astype(np.float32)
    # Words 4..VOCAB-1 shared between classes, so a caption cannot be told from its first word alone.
    captions = [[BOS, *rng.integers(4, VOCAB, size=int(rng.integers(3, 9))).tolist(), EOS] for _ in range(CLASSES)]

    def split(per_class: int):
        classes = np.repeat(np.arange(CLASSES), per_class)
        features = centres[classes] + 0.8 * rng.normal(size=(len(classes), DIM)).astype(np.float32)
        return features, [captions[c] for c in classes]

    return {"train": split(40), "val": split(10), "test": split(5)}


@pytest.fixture(scope="module")
def trained(data):
    torch.set_num_threads(2)
    out = {}
    for mode in MODES:
        model = _model(mode)
        before = math.log(perplexity(model, CaptionSet(*data["val"]), batch_size=64, device="cpu", pad_id=PAD))
        history = fit(model, CaptionSet(*data["train"]), CaptionSet(*data["val"]))
        out[mode] = (model, history, before)
    return out


def _features(data, split="test") -> torch.Tensor:
    return torch.from_numpy(data[split][0])


def _log_prob(model: ShowAndTell, feature: torch.Tensor, words: list[int]) -> float:
    """log P(words <eos> | photo) by teacher forcing, independent of the decoders."""
    caption = torch.tensor([[BOS, *words, EOS]])
    with torch.no_grad():
        loss, _ = model.loss(feature.unsqueeze(0), caption, [caption.size(1)])
    return -float(loss)


@pytest.mark.parametrize("mode", MODES)
def test_training_drives_validation_loss_down(trained, mode):
    model, history, before = trained[mode]
    best = min(h["val_loss"] for h in history)
    assert before > 2.0  # about ln(VOCAB) for an untrained model
    assert best < 0.05 * before
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert set(history[0]) == {"epoch", "train_loss", "val_loss", "val_complete", "kept", "seconds"}
    assert not model.training


@pytest.mark.parametrize("mode", MODES)
def test_greedy_reproduces_held_out_captions(trained, data, mode):
    model = trained[mode][0]
    decoded = model.greedy(_features(data), bos_id=BOS, eos_id=EOS, max_len=MAX_LEN)
    refs = {i: [" ".join(map(str, c[1:-1]))] for i, c in enumerate(data["test"][1])}
    hyps = {i: [" ".join(map(str, words))] for i, (words, _) in enumerate(decoded)}
    bleu, _ = Bleu(4).compute_score(refs, hyps, verbose=0)
    assert bleu[3] > 0.9


@pytest.mark.parametrize("mode", MODES)
def test_beam_width_one_is_greedy(trained, data, mode):
    model = trained[mode][0]
    features = _features(data)
    greedy = model.greedy(features, bos_id=BOS, eos_id=EOS, max_len=MAX_LEN)
    beam = model.beam_search(features, bos_id=BOS, eos_id=EOS, beam=1, top=1, max_len=MAX_LEN, length_norm=False)
    assert [b[0] for b in beam] == greedy


def test_beam_width_one_is_greedy_on_an_untrained_model():
    model = _model("first_word", vocab_size=20, dropout=0.0, seed=3)
    with torch.no_grad():
        model.out.weight.mul_(4)  # peaked enough that some captions end early and some run to max_len
    features = torch.randn(30, DIM, generator=torch.Generator().manual_seed(3))
    greedy = model.greedy(features, bos_id=BOS, eos_id=EOS, max_len=6)
    for length_norm in (False, True):
        beam = model.beam_search(features, bos_id=BOS, eos_id=EOS, beam=1, top=3, max_len=6, length_norm=length_norm)
        assert [b[0][0] for b in beam] == [g[0] for g in greedy]
        assert all(len(b) == 1 for b in beam)
    lengths = {len(words) for words, _ in greedy}
    assert 6 in lengths and min(lengths) < 6  # ended early and capped: both are compared


@pytest.mark.parametrize("mode", MODES)
def test_beam_is_at_least_as_likely_as_greedy(trained, data, mode):
    model = trained[mode][0]
    features = _features(data)
    greedy = model.greedy(features, bos_id=BOS, eos_id=EOS, max_len=MAX_LEN)
    beam = model.beam_search(features, bos_id=BOS, eos_id=EOS, beam=8, top=5, max_len=MAX_LEN, length_norm=False)
    for (_, greedy_score), captions in zip(greedy, beam, strict=True):
        assert captions[0][1] >= greedy_score - 1e-6


def test_top_captions_are_sorted_distinct_log_probabilities(trained, data):
    model = trained["t0"][0]
    features = _features(data)
    beam = model.beam_search(features, bos_id=BOS, eos_id=EOS, beam=8, top=5, max_len=MAX_LEN, length_norm=False)
    assert len(beam) == len(features)
    for feature, captions in zip(features, beam, strict=True):
        assert len(captions) == 5
        scores = [s for _, s in captions]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(w) for w, _ in captions}) == 5
        for words, score in captions:
            assert EOS not in words and BOS not in words and len(words) <= MAX_LEN
            assert score == pytest.approx(_log_prob(model, feature, words), abs=1e-4)


def test_length_norm_ranks_by_log_probability_a_token():
    """Documented: the score is log P(words <eos>) / (words + 1), captions ranked by it."""
    model = _model("t0", vocab_size=10, dropout=0.0)
    with torch.no_grad():
        model.out.weight.mul_(8)  # a peaked random model, so captions of many lengths finish
    features = torch.randn(40, DIM, generator=torch.Generator().manual_seed(0))
    kwargs = {"bos_id": BOS, "eos_id": EOS, "beam": 6, "top": 4, "max_len": 6}
    raw = model.beam_search(features, length_norm=False, **kwargs)
    normed = model.beam_search(features, length_norm=True, **kwargs)
    changed = 0
    for feature, by_total, by_token in zip(features, raw, normed, strict=True):
        scores = [s for _, s in by_token]
        assert scores == sorted(scores, reverse=True)
        for words, score in by_token:
            assert len(words) <= 6
            assert score == pytest.approx(_log_prob(model, feature, words) / (len(words) + 1), abs=1e-4)
        changed += by_total[0][0] != by_token[0][0]
        # the raw winner is at least as likely in total as the length-normalised one
        assert by_total[0][1] >= _log_prob(model, feature, by_token[0][0]) - 1e-5
    assert changed > 0


@pytest.mark.parametrize("mode", MODES)
def test_padding_is_ignored(mode):
    model = _model(mode, seed=1).eval()
    captions = [[BOS, 5, 6, 7, EOS], [BOS, 8, EOS], [BOS, 9, 10, 11, 12, 13, EOS], [BOS, EOS]]
    features = torch.randn(len(captions), DIM, generator=torch.Generator().manual_seed(1))
    [batch] = caption_loader(CaptionSet(features.numpy(), captions), batch_size=8, pad_id=PAD, generator=None)
    with torch.no_grad():
        total, count = model.loss(*batch)
    assert count == sum(len(c) - 1 for c in captions)
    # unsorted, with extra padding columns
    wide = torch.full((len(captions), 12), PAD)
    for i, c in enumerate(captions):
        wide[i, : len(c)] = torch.tensor(c)
    with torch.no_grad():
        wide_total, wide_count = model.loss(features, wide, [len(c) for c in captions])
    alone = sum(_log_prob(model, f, c[1:-1]) for f, c in zip(features, captions, strict=True))
    assert wide_count == count
    assert float(wide_total) == pytest.approx(float(total), rel=1e-5)
    assert float(total) == pytest.approx(-alone, rel=1e-5)


def test_batches_sort_longest_first_and_pad():
    data = CaptionSet(np.arange(3, dtype=np.float32)[:, None].repeat(3, 1), [[1, 2], [1, 5, 6, 2], [1, 7, 2]],
                      weights=[0.5, 1.0, 2.0])
    [(features, captions, lengths, weights)] = caption_loader(data, batch_size=3, pad_id=PAD, generator=None)
    assert lengths.tolist() == [4, 3, 2]
    assert captions.tolist() == [[1, 5, 6, 2], [1, 7, 2, PAD], [1, 2, PAD, PAD]]
    assert features[:, 0].tolist() == [1.0, 2.0, 0.0] and weights.tolist() == [1.0, 2.0, 0.5]
    assert len(data[0]) == 3  # an item of a weighted set carries its weight


def test_caption_set_shares_photo_rows():
    features = np.arange(6, dtype=np.float32).reshape(2, 3)
    data = CaptionSet(features, [[1, 4, 2], [1, 5, 2], [1, 6, 2]], photo_index=[1, 1, 0])
    assert len(data) == 3
    assert data[1][0].tolist() == [3.0, 4.0, 5.0] and data[2][0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        CaptionSet(features, [[1, 2], [1, 2]], photo_index=[0, 2])


def test_checkpoint_round_trip(trained, data, tmp_path):
    model, history, _ = trained["first_word"]
    path = tmp_path / "captioner.pt"
    info = {"model_config": {"embed_size": 32, "hidden_size": 64}, "vocab": {"words": ["<pad>", "<bos>"]},
            "features": {"backbone": "mobilenet_v2", "weights_sha256": "ab" * 32, "dim": np.int64(DIM)},
            "settings": {"lr": np.float32(0.01), "pairing": "all"}, "history": history}
    save_captioner(path, model, **info)
    loaded, got = load_captioner(path, device="cpu")
    assert not loaded.training
    assert got["features"]["dim"] == DIM and type(got["features"]["dim"]) is int
    assert got["history"] == history and got["vocab"] == info["vocab"]
    assert got["arch"]["image_input"] == "first_word"
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    features = _features(data)
    kwargs = {"bos_id": BOS, "eos_id": EOS, "beam": 5, "top": 3, "max_len": MAX_LEN, "length_norm": False}
    assert loaded.beam_search(features, **kwargs) == model.beam_search(features, **kwargs)
    assert torch.load(path, weights_only=True)["format"] == "neta-captioner"


def test_bad_checkpoints_name_the_file(trained, tmp_path):
    missing = tmp_path / "none.pt"
    with pytest.raises(NetaError, match="none.pt"):
        load_captioner(missing, device="cpu")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(NetaError, match="garbage.pt"):
        load_captioner(garbage, device="cpu")
    good = tmp_path / "good.pt"
    save_captioner(good, trained["t0"][0], model_config={}, vocab={}, features={}, settings={}, history=[])
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(NetaError, match="truncated.pt"):
        load_captioner(truncated, device="cpu")
    foreign = tmp_path / "model.pt"
    torch.save({"cnn_state_dict": {}, "classes": ["あ"]}, foreign)
    with pytest.raises(NetaError, match="model.pt.*not a neta captioner"):
        load_captioner(foreign, device="cpu")
    with pytest.raises(TypeError, match="settings.when"):
        save_captioner(tmp_path / "x.pt", trained["t0"][0], model_config={}, vocab={}, features={},
                       settings={"when": object()}, history=[])
    assert not (tmp_path / "x.pt").exists()


def test_early_stopping_restores_the_best_epoch(trained, data):
    model = copy.deepcopy(trained["t0"][0])
    # Trained further on the wrong captions (each photo gets another class's), the model forgets the
    # right ones: validation loss rises epoch after epoch, so the first epoch is the one to keep.
    features, captions = data["train"]
    wrong = CaptionSet(features, captions[40:] + captions[:40])
    history = fit(model, wrong, CaptionSet(*data["val"]), epochs=8, patience=2)
    losses = [h["val_loss"] for h in history]
    assert len(history) == 3 and losses[0] == min(losses)
    kept = math.log(perplexity(model, CaptionSet(*data["val"]), batch_size=64, device="cpu", pad_id=PAD))
    assert kept == pytest.approx(losses[0], rel=1e-3)
    assert kept < losses[-1]


def test_patience_counts_epochs_without_a_better_validation_loss(data):
    model = _model("t0")
    # lr 0: the weights never move, so no epoch after the first is better
    history = fit(model, CaptionSet(*data["train"]), CaptionSet(*data["val"]), lr=0.0, epochs=10, patience=2)
    assert len(history) == 3
    assert len({h["val_loss"] for h in history}) == 1


def test_training_is_seeded(data):
    def run():
        model = _model("t0")
        history = fit(model, CaptionSet(*data["train"]), CaptionSet(*data["val"]), epochs=2, seed=5)
        return [(h["train_loss"], h["val_loss"]) for h in history], model.state_dict()

    (h1, s1), (h2, s2) = run(), run()
    assert h1 == h2
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_no_validation_captions_is_a_clear_error(data):
    empty = CaptionSet(np.zeros((0, DIM), dtype=np.float32), [])
    with pytest.raises(NetaError, match="val_fraction"):
        fit(_model("t0"), CaptionSet(*data["train"]), empty)


def test_train_log_and_loss_plot(trained, tmp_path):
    history = trained["t0"][1]
    write_train_log(history, tmp_path / "train_log.csv")
    plot_loss(history, tmp_path / "loss.png")
    table = pd.read_csv(tmp_path / "train_log.csv")
    assert list(table.columns) == ["epoch", "train_loss", "val_loss", "val_complete", "kept", "seconds"]
    assert table["val_loss"].tolist() == [h["val_loss"] for h in history]
    assert table["kept"].sum() == 1 and table.loc[table["kept"], "val_loss"].item() == table["val_loss"].min()
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "train_log.csv"]


def test_train_captioner_records_its_config_sections_in_the_checkpoint(tmp_path):
    rng = np.random.default_rng(1)
    photos = [f"{n:064x}" for n in range(8)]
    words = ["a", "cat", "dog", "sits", "runs", "here"]
    rows = [{"image_id": photo, "caption": text, "tokens": text, "stars": stars, "path": f"{i}.jpg",
             "split": "val" if i < 2 else "train"}
            for i, photo in enumerate(photos)
            for stars, text in enumerate(" ".join(rng.choice(words, 3)) for _ in range(3))]
    write_captions(tmp_path / "captions.csv", pd.DataFrame(rows))
    attrs = {"backbone": "mobilenet_v2", "layer": "pooled", "dim": DIM, "weights": "IMAGENET1K_V1",
             "weights_file": "mobilenet_v2.pth", "weights_sha256": "ab" * 32, "input_size": 224}
    assert set(attrs) == set(FEATURE_ATTRS)
    write_h5(tmp_path / "features.h5", {"features": rng.random((len(photos), DIM), dtype=np.float32),
                                        "image_ids": np.array(photos, dtype=str)}, stage="test", attrs=attrs)
    settings = validate_config({"captioner": {"vocab": {"min_count": 1}, "model": {"embed_size": 8, "hidden_size": 8},
                                              "train": {"epochs": 2, "batch_size": 4}}})
    vocab, model, train = VocabSettings.of(settings), ModelSettings.of(settings), TrainSettings.of(settings)
    summary = train_captioner(tmp_path / "captions.csv", tmp_path / "features.h5", model_out=tmp_path / "captioner.pt",
                              vocab_out=tmp_path / "vocab.json", log_csv=tmp_path / "train_log.csv",
                              loss_png=tmp_path / "loss.png", language="en", pairing="topk", top_k=2,
                              star_weighting="log", vocab=vocab, model=model, train=train, seed=0, device="cpu",
                              threads=1)
    assert summary["pairs"] == 12 and summary["epochs"] == 2
    checkpoint = torch.load(tmp_path / "captioner.pt", weights_only=True)
    assert checkpoint["model_config"] == {"feature_dim": DIM, "vocab_size": summary["vocab"], **model.record()}
    assert checkpoint["settings"] == {"language": "en", "pairing": "topk", "top_k": 2, "star_weighting": "log",
                                      "min_count": 1, "max_len": 30, "train": train.record(), "seed": 0}
    # the sections' keys sorted, as the workflow's --settings (sorted JSON) gives them
    assert list(checkpoint["model_config"]) == ["feature_dim", "vocab_size", *sorted(model.record())]
    assert list(checkpoint["settings"]["train"]) == sorted(train.record())


def test_select_val_complete_keeps_the_best_decoded_epoch_ties_to_the_later_one(data):
    scores = iter([0.0, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2])
    kept_weights = {}

    def scorer(model):
        kept_weights[len(kept_weights) + 1] = copy.deepcopy(model.state_dict())
        return next(scores)

    model = _model("t0")
    history = fit_captioner(model, CaptionSet(*data["train"]), CaptionSet(*data["val"]),
                            training=dataclasses.replace(TRAINING, epochs=8, patience=2, select="val_complete"),
                            device="cpu", seed=0, pad_id=PAD, val_complete=scorer)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]  # kept 3, then 2 epochs without better
    assert [h["kept"] for h in history] == [False, False, True, False, False]
    assert [h["val_complete"] for h in history] == [0.0, 0.5, 0.5, 0.2, 0.2]
    state = model.state_dict()
    assert all(torch.equal(state[k], kept_weights[3][k]) for k in state)
    with pytest.raises(ValueError, match="val_complete"):
        fit(_model("t0"), CaptionSet(*data["train"]), CaptionSet(*data["val"]), select="val_complete")


def test_min_epochs_are_always_trained_and_none_before_is_kept(trained, data):
    model = copy.deepcopy(trained["t0"][0])
    features, captions = data["train"]
    wrong = CaptionSet(features, captions[40:] + captions[:40])  # validation loss rises every epoch
    history = fit(model, wrong, CaptionSet(*data["val"]), epochs=8, patience=2, min_epochs=4)
    assert len(history) == 6 and [h["epoch"] for h in history if h["kept"]] == [4]


def test_no_repeat_never_writes_a_word_twice_in_a_row():
    model = _model("first_word", vocab_size=8, dropout=0.0, seed=3)
    with torch.no_grad():
        model.out.weight.mul_(6)  # peaked: without the rule the likeliest next word is often the same one
    features = torch.randn(40, DIM, generator=torch.Generator().manual_seed(3))
    kwargs = {"bos_id": BOS, "eos_id": EOS, "max_len": 12}

    def stutters(captions):
        return sum(any(a == b for a, b in zip(words, words[1:], strict=False)) for words in captions)

    assert stutters([w for w, _ in model.greedy(features, **kwargs)]) > 0  # the rule has work to do
    greedy = model.greedy(features, no_repeat=True, **kwargs)
    assert stutters([w for w, _ in greedy]) == 0
    beam = model.beam_search(features, beam=6, top=4, length_norm=True, no_repeat=True, **kwargs)
    assert stutters([w for found in beam for w, _ in found]) == 0
    one = model.beam_search(features, beam=1, top=1, length_norm=False, no_repeat=True, **kwargs)
    assert [b[0] for b in one] == greedy


def test_sampling_is_reproducible_under_a_seed(trained, data):
    model = trained["t0"][0]
    features = _features(data)
    kwargs = {"bos_id": BOS, "eos_id": EOS, "max_len": MAX_LEN, "no_repeat": False}

    def draw(seed, **changes):
        settings = {"top_k": 8, "top_p": 0.95, "temperature": 2.0, **changes}
        return model.sample(features, generator=torch.Generator().manual_seed(seed), **kwargs, **settings)

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)  # flat enough (temperature 2) that two seeds draw differently
    # one word to draw from is greedy decoding, whatever the seed
    assert [w for w, _ in draw(5, top_k=1)] == [w for w, _ in model.greedy(features, **kwargs)]
    # the log-probability is the caption's under the model
    words, logprob = draw(3)[0]
    assert logprob == pytest.approx(_log_prob(model, features[0], words), abs=1e-4)


def test_star_weights_and_the_weighted_loss():
    frame = pd.DataFrame({"image_id": ["a", "a", "a", "b", "b"], "stars": ["0", "10", "30", "2", ""]})
    assert star_weights(frame, "none") is None
    logw = star_weights(frame, "log")
    assert logw.mean() == pytest.approx(1.0) and list(np.argsort(logw)) == [0, 4, 3, 1, 2]
    assert star_weights(frame, "threshold").tolist() == [0, 1, 1, 1, 0]  # at or above the photo's median
    model = _model("t0", dropout=0.0)
    features = torch.randn(3, DIM, generator=torch.Generator().manual_seed(0))
    captions = torch.tensor([[BOS, 5, 6, EOS], [BOS, 7, EOS, PAD], [BOS, 8, 9, EOS]])
    lengths = [4, 3, 4]
    with torch.no_grad():
        each = [model.loss(features[i : i + 1], captions[i : i + 1, : lengths[i]], [lengths[i]]) for i in range(3)]
        total, count = model.loss(features, captions, lengths, torch.tensor([2.0, 0.0, 1.0]))
    assert float(total) == pytest.approx(2 * float(each[0][0]) + float(each[2][0]), rel=1e-5)
    assert count == 2 * each[0][1] + each[2][1]
