"""The caption gallery as one self-contained file for the Snakemake report: photos inlined as data URIs.

``gallery.html`` of evaluate_captioner links its photos by relative path, which a report (one HTML
file, or a zip whose results sit in their own folder) cannot follow; this page is the same gallery
(:func:`neta.boke.gallery.write_gallery`) with each photo shrunk to a thumbnail and
embedded, from ``samples.json`` and the photos beside the caption table.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from neta.errors import NetaError

THUMBNAIL = 320  # pixels of the longer side: the gallery shows photos 224 px wide
SCORES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D")


def thumbnail_uri(path: str | os.PathLike, side: int = THUMBNAIL) -> str:
    """A JPEG data URI of the photo at ``path``, its longer side at most ``side`` pixels."""
    try:
        with Image.open(path) as image:
            image.thumbnail((side, side))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=85)
    except (OSError, UnidentifiedImageError) as exc:
        raise NetaError(f"{path}: cannot read the photo ({exc}); rerun the stage that downloads it") from exc
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def read_samples(path: str | os.PathLike) -> list[dict]:
    """``samples.json`` of evaluate_captioner: a list of {image_id, path, generated, references}."""
    fix = "rerun evaluate_captioner, which writes it"
    try:
        samples = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetaError(f"{path}: cannot read the caption samples ({exc}); {fix}") from exc
    keys = {"image_id", "path", "generated", "references"}
    if not isinstance(samples, list) or not all(isinstance(s, dict) and keys <= set(s) for s in samples):
        raise NetaError(f"{path}: not a list of samples with {', '.join(sorted(keys))}; {fix}")
    return samples


def write_inline_gallery(samples_json: str | os.PathLike, captions_csv: str | os.PathLike,
                         metrics: dict, out: str | os.PathLike) -> int:
    """Write the self-contained gallery to ``out``; photo paths are relative to ``captions_csv``'s folder.

    Returns the number of photos shown.
    """
    from neta.boke.gallery import write_gallery

    samples = read_samples(samples_json)
    folder = Path(captions_csv).parent
    shown = [{**sample, "image": thumbnail_uri(folder / sample["path"])} for sample in samples]
    scores = ", ".join(f"{key} {metrics[key]:.3f}" for key in SCORES if isinstance(metrics.get(key), (int, float)))
    summary = (f"{len(shown)} test photos, beam {metrics.get('beam', '?')}; {scores}, "
               f"perplexity {metrics.get('perplexity', '?')}")
    write_gallery(out, shown, title="neta: generated captions of held-out photos", summary=summary)
    return len(shown)
