"""train_captioner: the caption table and features.h5 -> captioner.pt, vocab.json, train_log.csv, loss.png.

The vocabulary is built from the training pairs only; validation captions (every caption of the
validation photos, whatever the pairing) decide early stopping. Captions that are empty, longer than
``max_len`` tokens or of a photo with no feature vector (it could not be decoded) are dropped and
counted in the log and the summary, never silently.

Teacher-forced training of Show and Tell: Adam, gradient clipping, early stopping on validation loss.
Losses are mean cross-entropy a target token (``<eos>`` included, ``<pad>`` never), so train and
validation losses compare across batch sizes, and ``exp(loss)`` is the perplexity.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from neta.atomic import atomic_path, write_csv
from neta.boke.checkpoint import save_captioner
from neta.boke.config import ModelSettings, TrainSettings, VocabSettings
from neta.boke.dataset import CaptionSet, caption_loader, caption_set, read_caption_features, with_features
from neta.boke.decode import caption_of
from neta.boke.metrics import mean_loss
from neta.boke.model import ShowAndTell
from neta.boke.quality import complete_rate
from neta.boke.table import read_captions, star_weights, training_pairs, usable
from neta.boke.vocab import Vocabulary
from neta.device import resolve_device, seed_everything, set_threads
from neta.errors import NetaError
from neta.progress import progress
from neta.settings import ConfigSection

log = logging.getLogger(__name__)

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "val_complete", "kept", "seconds")


def fit_captioner(model: ShowAndTell, train: CaptionSet, val: CaptionSet, *, training: TrainSettings, device,
                  seed: int, pad_id: int, val_complete=None) -> list[dict]:
    """Train ``model`` in place; return one ``{"epoch", "train_loss", "val_loss", "val_complete", "kept",
    "seconds"}`` an epoch.

    ``training``: epochs at most, batch size, learning rate, gradient clipping, patience, ``select`` and
    ``min_epochs``. ``val_complete(model) -> float`` (needed with select val_complete) is the share of
    complete captions greedy decoding writes for the validation photos. The epoch kept has the best
    selection score (the lowest validation loss, or the largest val_complete with ties to the later
    epoch) among the epochs from ``min_epochs`` on; training stops ``patience`` epochs after it. The model
    ends on ``device``, in eval mode, with the kept epoch's weights.
    """
    epochs, batch_size, patience = training.epochs, training.batch_size, training.patience
    by_decoding = training.select == "val_complete"
    if by_decoding and val_complete is None:
        raise ValueError("select val_complete needs the val_complete scorer")
    if len(train) == 0:
        raise NetaError("no training captions: check the dataset, its split and vocab.max_len")
    if len(val) == 0:
        raise NetaError("no validation captions for early stopping: raise captioner.split.val_fraction")
    seed_everything(seed)
    dev = resolve_device(str(device))
    model.to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(training.lr))
    generator = torch.Generator().manual_seed(int(seed))
    batches = caption_loader(train, batch_size=batch_size, pad_id=pad_id, generator=generator)
    log.info("training on %d captions (%d batches an epoch), validating on %d; device %s, %d threads",
             len(train), len(batches), len(val), dev, torch.get_num_threads())
    history: list[dict] = []
    best_score, best_epoch, best_state = -math.inf, 0, None
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        total, tokens = 0.0, 0
        bar = progress(batches, desc=f"captioner epoch {epoch}/{epochs}", mininterval=1.0,
                   dynamic_ncols=True, leave=False)
        for features, captions, lengths, *weights in bar:
            loss, count = model.loss(features.to(dev), captions.to(dev), lengths, *weights)
            optimizer.zero_grad(set_to_none=True)
            (loss / count).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.clip)
            optimizer.step()
            total += loss.item()
            tokens += count
            bar.set_postfix(loss=f"{total / tokens:.3f}")
        bar.close()
        train_loss = total / tokens
        val_loss = mean_loss(model, val, batch_size=batch_size, device=dev, pad_id=pad_id)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise NetaError(f"captioner loss became {train_loss} (validation {val_loss}) in epoch {epoch}; "
                            "lower captioner.train.lr or clip")
        complete = float(val_complete(model)) if val_complete is not None else None
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch, "train_loss": round(train_loss, 6), "val_loss": round(val_loss, 6),
                        "val_complete": None if complete is None else round(complete, 4), "kept": False,
                        "seconds": round(seconds, 3)})
        score = complete if by_decoding else -val_loss
        if epoch >= training.min_epochs and (score > best_score or (by_decoding and score == best_score)):
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        log.info("epoch %d/%d train loss %.4f val loss %.4f%s (kept so far: epoch %d) %.1f s", epoch, epochs,
                 train_loss, val_loss, "" if complete is None else f" val complete {complete:.3f}", best_epoch,
                 seconds)
        if epoch >= training.min_epochs and epoch - max(best_epoch, training.min_epochs) >= patience:
            log.info("early stop: no better %s for %d epochs", training.select, patience)
            break
    model.load_state_dict(best_state)
    model.eval()
    history[best_epoch - 1]["kept"] = True
    kept = history[best_epoch - 1]
    log.info("kept epoch %d (val loss %.4f, perplexity %.2f, val complete %s)", best_epoch, kept["val_loss"],
             math.exp(kept["val_loss"]), kept["val_complete"])
    return history


def write_train_log(history: list[dict], csv_path: str | os.PathLike) -> None:
    """``train_log.csv``: epoch, train_loss, val_loss, val_complete (empty unless measured), kept, seconds."""
    write_csv(csv_path, pd.DataFrame(history, columns=list(LOG_COLUMNS)))


def plot_loss(history: list[dict], png_path: str | os.PathLike) -> None:
    """``loss.png``: train and validation loss an epoch, the share of complete greedy captions of the
    validation photos where measured, and the kept epoch marked."""
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    handles = []
    kept = [h["epoch"] for h in history if h.get("kept")]
    if kept:
        ax.axvline(kept[0], color="grey", linestyle=":", label=f"kept: epoch {kept[0]}")
    if any(h.get("val_complete") is not None for h in history):
        right = ax.twinx()
        handles = right.plot(epochs, [h.get("val_complete") for h in history], color="tab:green", marker=".",
                             label="validation: complete (greedy)")
        right.set_ylim(-0.05, 1.05)
        right.set_ylabel("share of complete captions")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy a token")
    ax.grid(alpha=0.3)
    ax.legend(handles=ax.get_legend_handles_labels()[0] + handles)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        # No Software/date metadata, so the same history gives the same bytes.
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})


def _recorded(section: ConfigSection) -> dict:
    """``section``'s values for the checkpoint, keys sorted: the order the workflow's ``--settings`` (JSON
    with sorted keys) gave them, so a captioner.pt holds them alike however the settings were given."""
    return dict(sorted(section.record().items()))


def _val_complete(val, features: np.ndarray, rows: dict[str, int], words: Vocabulary, *, language: str,
                  max_len: int, device: torch.device):
    """The scorer of select val_complete: the share of complete captions (neta.boke.quality) that greedy
    decoding writes for the validation photos."""
    photos = list(dict.fromkeys(val["image_id"]))
    vectors = torch.from_numpy(features[[rows[photo] for photo in photos]]).to(device)

    def score(model: ShowAndTell) -> float:
        found = model.greedy(vectors, bos_id=words.bos_id, eos_id=words.eos_id, max_len=max_len)
        return complete_rate([[caption_of(ids, logprob, words, language=language, max_len=max_len)]
                              for ids, logprob in found])

    return score


def train_captioner(captions_csv: str | os.PathLike, features_h5: str | os.PathLike, *, model_out, vocab_out,
                    log_csv, loss_png, language: str, pairing: str, top_k: int, star_weighting: str,
                    vocab: VocabSettings, model: ModelSettings, train: TrainSettings, seed: int, device: str,
                    threads: int) -> dict:
    """Train Show and Tell on the caption table and features.h5 and write its four outputs; return a summary.

    ``language``: the resolved language of the captions (ja or en); ``pairing``/``top_k``: the training
    pairs a photo gives (:func:`neta.boke.table.training_pairs`); ``star_weighting``: how their stars weigh
    them (:func:`neta.boke.table.star_weights`); ``vocab``, ``model``, ``train``: the captioner.vocab, .model
    and .train sections.
    """
    started = time.perf_counter()
    set_threads(threads)
    seed_everything(seed)
    device_used = resolve_device(device)
    frame, dropped = usable(read_captions(captions_csv), max_len=vocab.max_len)
    features, rows, feature_info = read_caption_features(features_h5)
    frame, dropped["no_features"] = with_features(frame, rows, str(captions_csv))
    pairs = training_pairs(frame, pairing=pairing, top_k=top_k)
    val = frame[frame["split"] == "val"]
    for name, part, key in (("training", pairs, "test_fraction"), ("validation", val, "val_fraction")):
        if part.empty:
            raise NetaError(f"{captions_csv}: no {name} captions; more photos or another "
                            f"captioner.split.{key if name == 'validation' else 'val_fraction and ' + key}")
    words = Vocabulary.build((tokens.split() for tokens in pairs["tokens"]), min_count=vocab.min_count)
    train_set = caption_set(pairs, words, features, rows, weights=star_weights(pairs, star_weighting))
    val_set = caption_set(val, words, features, rows)
    config = {"feature_dim": int(features.shape[1]), "vocab_size": len(words), **_recorded(model)}
    net = ShowAndTell(**config, pad_id=words.pad_id)
    log.info("train_captioner: %d training pairs (%s) of %d photos, %d validation captions of %d photos, "
             "%d words (min_count %d), %s on %s", len(pairs), pairing, pairs["image_id"].nunique(), len(val),
             val["image_id"].nunique(), len(words), vocab.min_count, model, device_used)
    scorer = _val_complete(val, features, rows, words, language=language, max_len=vocab.max_len,
                           device=device_used) if train.select == "val_complete" else None
    history = fit_captioner(net, train_set, val_set, training=train, device=device_used, seed=seed,
                            pad_id=words.pad_id, val_complete=scorer)
    words.save(vocab_out)
    settings = {"language": language, "pairing": pairing, "top_k": top_k, "star_weighting": star_weighting,
                "min_count": vocab.min_count,
                "max_len": vocab.max_len, "train": _recorded(train), "seed": seed}
    save_captioner(model_out, net, model_config=config, vocab=words.to_json(), features=feature_info,
                   settings=settings, history=history)
    write_train_log(history, log_csv)
    plot_loss(history, loss_png)
    best = next(epoch for epoch in history if epoch["kept"])
    summary = {"model": str(model_out), "pairs": len(pairs), "train_photos": int(pairs["image_id"].nunique()),
               "val_captions": len(val), "vocab": len(words), "dropped": dropped, "epochs": len(history),
               "best_epoch": best["epoch"], "best_val_loss": round(best["val_loss"], 4),
               "first_train_loss": round(history[0]["train_loss"], 4),
               "last_train_loss": round(history[-1]["train_loss"], 4),
               "seconds": round(time.perf_counter() - started, 1)}
    log.info("train_captioner: %s", summary)
    return summary
