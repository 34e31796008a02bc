"""train_captioner: the caption table and features.h5 -> captioner.pt, vocab.json, train_log.csv, loss.png.

The vocabulary is built from the training pairs only; validation captions (every caption of the
validation photos, whatever the pairing) decide early stopping. Captions that are empty, longer than
``max_len`` tokens or of a photo with no feature vector (it could not be decoded) are dropped and
counted in the log and the summary, never silently.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from neta.captions.table import read_captions, training_pairs, usable
from neta.device import resolve_device, seed_everything, set_threads
from neta.errors import NetaError
from neta.h5io import read_h5
from neta.models.captioner import ShowAndTell
from neta.models.captioner_checkpoint import save_captioner
from neta.text.vocab import Vocabulary
from neta.train.captioner import CaptionSet, fit_captioner, plot_loss, write_train_log

log = logging.getLogger(__name__)

# features.h5 attributes a checkpoint keeps, so new photos get vectors from the same network and weights
FEATURE_ATTRS = ("backbone", "layer", "dim", "weights", "weights_file", "weights_sha256", "input_size")


def read_caption_features(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, int], dict]:
    """(vectors, image_id -> row, what the vectors are) of a features.h5."""
    data, attrs = read_h5(path, ["features", "image_ids"])
    missing = [key for key in FEATURE_ATTRS if key not in attrs]
    if missing:
        raise NetaError(f"{path}: lacks the attributes {missing} of the features stage; rebuild it with "
                        "`neta features`")
    rows = {image_id: row for row, image_id in enumerate(data["image_ids"])}
    return data["features"].astype(np.float32), rows, {key: attrs[key] for key in FEATURE_ATTRS}


def with_features(frame, rows: dict[str, int], what: str):
    """The rows of ``frame`` whose photo has a vector; the others are counted in the log."""
    has = frame["image_id"].isin(rows.keys())
    if not has.all():
        log.warning("%s: %d captions of %d photos dropped: their photo has no feature vector (not decoded)",
                    what, int((~has).sum()), frame.loc[~has, "image_id"].nunique())
    return frame[has], int((~has).sum())


def caption_set(frame, vocab: Vocabulary, features: np.ndarray, rows: dict[str, int]) -> CaptionSet:
    # a row index a caption, not a copy of the vector: a photo of a can has hundreds of bokes
    index = [rows[image_id] for image_id in frame["image_id"]]
    return CaptionSet(features, [vocab.encode(tokens.split()) for tokens in frame["tokens"]], photo_index=index)


def train_captioner(captions_csv: str | os.PathLike, features_h5: str | os.PathLike, *, model_out, vocab_out,
                    log_csv, loss_png, language: str, pairing: str, top_k: int, min_count: int, max_len: int,
                    model: dict, train: dict, seed: int, device: str, threads: int) -> dict:
    started = time.perf_counter()
    set_threads(threads)
    seed_everything(seed)
    device_used = resolve_device(device)
    frame, dropped = usable(read_captions(captions_csv), max_len=max_len)
    features, rows, feature_info = read_caption_features(features_h5)
    frame, dropped["no_features"] = with_features(frame, rows, str(captions_csv))
    pairs = training_pairs(frame, pairing=pairing, top_k=top_k)
    val = frame[frame["split"] == "val"]
    for name, part, key in (("training", pairs, "test_fraction"), ("validation", val, "val_fraction")):
        if part.empty:
            raise NetaError(f"{captions_csv}: no {name} captions; more photos or another "
                            f"captioner.split.{key if name == 'validation' else 'val_fraction and ' + key}")
    vocab = Vocabulary.build((tokens.split() for tokens in pairs["tokens"]), min_count=min_count)
    train_set, val_set = caption_set(pairs, vocab, features, rows), caption_set(val, vocab, features, rows)
    config = {"feature_dim": int(features.shape[1]), "vocab_size": len(vocab), **model}
    net = ShowAndTell(**config, pad_id=vocab.pad_id)
    log.info("train_captioner: %d training pairs (%s) of %d photos, %d validation captions of %d photos, "
             "%d words (min_count %d), %s on %s", len(pairs), pairing, pairs["image_id"].nunique(), len(val),
             val["image_id"].nunique(), len(vocab), min_count, model, device_used)
    history = fit_captioner(net, train_set, val_set, epochs=train["epochs"], batch_size=train["batch_size"],
                            lr=train["lr"], clip=train["clip"], patience=train["patience"], device=device_used,
                            seed=seed, pad_id=vocab.pad_id)
    vocab.save(vocab_out)
    settings = {"language": language, "pairing": pairing, "top_k": top_k, "min_count": min_count,
                "max_len": max_len, "train": train, "seed": seed}
    save_captioner(model_out, net, model_config=config, vocab=vocab.to_json(), features=feature_info,
                   settings=settings, history=history)
    write_train_log(history, log_csv)
    plot_loss(history, loss_png)
    best = min(history, key=lambda epoch: epoch["val_loss"])
    summary = {"model": str(model_out), "pairs": len(pairs), "train_photos": int(pairs["image_id"].nunique()),
               "val_captions": len(val), "vocab": len(vocab), "dropped": dropped, "epochs": len(history),
               "best_epoch": best["epoch"], "best_val_loss": round(best["val_loss"], 4),
               "first_train_loss": round(history[0]["train_loss"], 4),
               "last_train_loss": round(history[-1]["train_loss"], 4),
               "seconds": round(time.perf_counter() - started, 1)}
    log.info("train_captioner: %s", summary)
    return summary
