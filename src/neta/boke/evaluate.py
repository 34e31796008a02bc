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
from neta.boke.decode import decode
from neta.boke.gallery import write_gallery
from neta.boke.metrics import caption_scores, perplexity
from neta.boke.table import read_captions, references, usable
from neta.boke.vocab import Vocabulary
from neta.device import resolve_device, set_threads
from neta.errors import NetaError

log = logging.getLogger(__name__)


def evaluate_captioner(model_path: str | os.PathLike, captions_csv: str | os.PathLike,
                       features_h5: str | os.PathLike, *, metrics_out, samples_out, gallery_out,
                       decoding: DecodeSettings, device: str, threads: int) -> dict:
    """Caption the test photos of ``captions_csv`` by beam search (``decoding``: the captioner.decode section),
    score them and write the three outputs; return the metrics."""
    started = time.perf_counter()
    set_threads(threads)
    device_used = resolve_device(device)
    model, checkpoint = load_captioner(model_path, device=device_used)
    vocab, language = Vocabulary.from_json(checkpoint["vocab"]), checkpoint["settings"]["language"]
    features, rows, feature_info = read_caption_features(features_h5)
    check_features(feature_info, checkpoint, str(features_h5))
    table = read_captions(captions_csv)
    test, _ = with_features(table[table["split"] == "test"], rows, str(captions_csv))
    test = test[test["tokens"].str.len() > 0]
    if test.empty:
        raise NetaError(f"{captions_csv}: no test photos with captions; raise captioner.split.test_fraction")
    refs = references(test, "test")
    photos = list(dict.fromkeys(test["image_id"]))
    vectors = torch.from_numpy(features[[rows[image_id] for image_id in photos]]).to(device_used)
    decode_started = time.perf_counter()
    generated = decode(model, vectors, vocab, language=language, beam=decoding.beam, top=decoding.top,
                       max_len=decoding.max_len, length_norm=decoding.length_norm)
    decode_seconds = time.perf_counter() - decode_started
    scores = caption_scores(refs, {image_id: found[0]["tokens"] for image_id, found in zip(photos, generated,
                                                                                           strict=True)})
    scored, _ = usable(test, max_len=checkpoint["settings"]["max_len"])
    test_perplexity = perplexity(model, caption_set(scored, vocab, features, rows), batch_size=64,
                                 device=device_used, pad_id=vocab.pad_id) if len(scored) else float("nan")
    metrics = {**{k: round(v, 4) for k, v in scores.items()}, "perplexity": round(test_perplexity, 3),
               "test_photos": len(photos), "test_captions": len(test), "beam": decoding.beam,
               "top": decoding.top, "length_norm": decoding.length_norm,
               "decode_captions_per_s": round(len(photos) / decode_seconds, 1), "language": language,
               "vocab": len(vocab)}
    first = test.drop_duplicates("image_id").set_index("image_id")
    captions_dir, gallery_dir = Path(captions_csv).resolve().parent, Path(gallery_out).resolve().parent
    samples = []
    for image_id, found in zip(photos, generated, strict=True):
        real = test.loc[test["image_id"] == image_id, "caption"].tolist()
        samples.append({"image_id": image_id, "path": first.loc[image_id, "path"], "generated": found,
                        "references": real})
    write_json(metrics_out, metrics)
    write_json(samples_out, samples)
    write_gallery(gallery_out, [{**s, "image": os.path.relpath(captions_dir / s["path"], gallery_dir)}
                                for s in samples],
                  title="neta: generated captions of held-out photos",
                  summary=f"{len(photos)} test photos, beam {decoding.beam}; " + ", ".join(
                      f"{k} {v:.3f}" for k, v in scores.items()) + f", perplexity {test_perplexity:.1f}")
    log.info("evaluate_captioner: %s in %.1f s", metrics, time.perf_counter() - started)
    return metrics
