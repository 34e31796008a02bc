"""evaluate_captioner: beam-search captions for the held-out test photos -> metrics.json, samples.json, gallery.html.

The references of a photo are all its captions in the table (empty ones aside), whatever pairing the
model was trained with; the generated caption scored is the beam's best. Perplexity is that of the
test captions the model could have been trained on (its max_len), words outside its vocabulary as <unk>.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch

from neta.atomic import write_json
from neta.boke.checkpoint import load_captioner
from neta.boke.config import DecodeSettings
from neta.boke.dataset import caption_set, check_features, read_caption_features, with_features
from neta.boke.decode import beam_captions, complete_first, decode
from neta.boke.gallery import write_gallery
from neta.boke.metrics import METRICS, caption_scores, perplexity
from neta.boke.quality import complete_rate, copied_rate, distinct, grounding
from neta.boke.table import read_captions, references, usable
from neta.boke.vocab import Vocabulary
from neta.device import resolve_device, set_threads
from neta.errors import NetaError

log = logging.getLogger(__name__)


SWEEP = (1, 3, 5, 10, 20)  # beam widths of the sweep on the test photos


def evaluate_captioner(model_path: str | os.PathLike, captions_csv: str | os.PathLike,
                       features_h5: str | os.PathLike, *, metrics_out, samples_out, gallery_out,
                       decoding: DecodeSettings, seed: int, device: str, threads: int) -> dict:
    """Caption the photos of every split by beam search (``decoding``: the captioner.decode section), score
    them and write the three outputs (samples and gallery: the test photos); return the metrics.

    Top level: the test photos' BLEU-1..4, CIDEr-D and perplexity. ``splits``: for the training,
    validation and test photos each, the scores, ``complete_rate`` (and ``complete_rate_beam``, the
    beam's own top captions without the complete-first ranking), ``grounding`` (own / shuffled-photo
    control, the control's derangement seeded with ``seed``), ``copied_rate`` and distinct-1/2 of the
    top captions (:mod:`neta.boke.quality`). ``beam_sweep``: the test photos at beam 1, 3, 5, 10, 20.
    """
    started = time.perf_counter()
    set_threads(threads)
    device_used = resolve_device(device)
    model, checkpoint = load_captioner(model_path, device=device_used)
    vocab, language = Vocabulary.from_json(checkpoint["vocab"]), checkpoint["settings"]["language"]
    features, rows, feature_info = read_caption_features(features_h5)
    check_features(feature_info, checkpoint, str(features_h5))
    table = read_captions(captions_csv)
    table, _ = with_features(table, rows, str(captions_csv))
    table = table[table["tokens"].str.len() > 0]
    test = table[table["split"] == "test"]
    if test.empty:
        raise NetaError(f"{captions_csv}: no test photos with captions; raise captioner.split.test_fraction")
    training_bokes = {tuple(tokens.split()) for tokens in table.loc[table["split"] == "train", "tokens"]}

    def vectors_of(part) -> tuple[list[str], torch.Tensor]:
        photos = list(dict.fromkeys(part["image_id"]))
        return photos, torch.from_numpy(features[[rows[image_id] for image_id in photos]]).to(device_used)

    splits, decode_seconds = {}, 0.0
    for split in ("train", "val", "test"):
        part = table[table["split"] == split]
        if part.empty:
            continue
        photos, vectors = vectors_of(part)
        decode_started = time.perf_counter()
        # One search gives both rankings: the beam's own top and, with prefer_complete, complete ones first.
        found = beam_captions(model, vectors, vocab, language=language, beam=decoding.beam,
                              top=max(decoding.top, decoding.beam), max_len=decoding.max_len,
                              length_norm=decoding.length_norm, no_repeat=decoding.no_repeat)
        beam_order = [captions[: decoding.top] for captions in found]
        generated = [complete_first(captions, decoding.top) for captions in found] if decoding.prefer_complete \
            else beam_order
        if split == "test":
            decode_seconds = time.perf_counter() - decode_started
            test_photos, test_generated = photos, generated
        splits[split] = _split_metrics(references(part, split), photos, generated, beam_order, training_bokes,
                                       language=language, seed=seed)
    photos, vectors = vectors_of(test)
    sweep = []
    for beam in SWEEP:
        generated = test_generated if beam == decoding.beam else decode(
            model, vectors, vocab, language=language, **{**decoding.record(), "beam": beam})
        scored = splits["test"] if beam == decoding.beam else _split_metrics(
            references(test, "test"), photos, generated, None, training_bokes, language=language, seed=seed)
        sweep.append({"beam": beam, **{key: scored[key] for key in ("BLEU-4", "CIDEr-D", "complete_rate",
                                                                     "mean_length")}})
    scored, _ = usable(test, max_len=checkpoint["settings"]["max_len"])
    test_perplexity = perplexity(model, caption_set(scored, vocab, features, rows), batch_size=64,
                                 device=device_used, pad_id=vocab.pad_id) if len(scored) else float("nan")
    scores = {key: splits["test"][key] for key in METRICS}
    metrics = {**scores, "perplexity": round(test_perplexity, 3),
               "test_photos": len(test_photos), "test_captions": len(test), **decoding.record(),
               "decode_captions_per_s": round(len(test_photos) / max(decode_seconds, 1e-9), 1),
               "language": language, "vocab": len(vocab), "splits": splits, "beam_sweep": sweep}
    first = test.drop_duplicates("image_id").set_index("image_id")
    captions_dir, gallery_dir = Path(captions_csv).resolve().parent, Path(gallery_out).resolve().parent
    samples = []
    for image_id, found in zip(test_photos, test_generated, strict=True):
        real = test.loc[test["image_id"] == image_id, "caption"].tolist()
        samples.append({"image_id": image_id, "path": first.loc[image_id, "path"], "generated": found,
                        "references": real})
    write_json(metrics_out, metrics)
    write_json(samples_out, samples)
    write_gallery(gallery_out, [{**s, "image": os.path.relpath(captions_dir / s["path"], gallery_dir)}
                                for s in samples],
                  title="neta: generated captions of held-out photos",
                  summary=f"{len(test_photos)} test photos, beam {decoding.beam}; " + ", ".join(
                      f"{k} {v:.3f}" for k, v in scores.items()) + f", perplexity {test_perplexity:.1f}")
    log.info("evaluate_captioner: %s in %.1f s", {k: v for k, v in metrics.items() if k != "splits"},
             time.perf_counter() - started)
    return metrics


def _split_metrics(refs: dict, photos: list[str], generated: list[list[dict]], beam_order: list[list[dict]] | None,
                   training_bokes: set, *, language: str, seed: int) -> dict:
    """The scores of one split's top captions (see :func:`evaluate_captioner`)."""
    top1 = {photo: found[0]["tokens"] for photo, found in zip(photos, generated, strict=True)}
    firsts = list(top1.values())
    found = {"photos": len(photos), **{k: round(v, 4) for k, v in caption_scores(refs, top1).items()},
             "complete_rate": round(complete_rate(generated), 4)}
    if beam_order is not None:
        found["complete_rate_beam"] = round(complete_rate(beam_order), 4)
    found.update({"grounding": grounding(refs, top1, seed=seed),
                  "copied_rate": round(copied_rate(firsts, training_bokes), 4),
                  "distinct_1": round(distinct(firsts, 1), 4), "distinct_2": round(distinct(firsts, 2), 4),
                  "mean_length": round(sum(len(tokens) for tokens in firsts) / len(firsts), 2)})
    return found
