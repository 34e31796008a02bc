"""`neta caption`: the top captions of new photos, their vectors made as the training data's were."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from neta.device import resolve_device
from neta.errors import NetaError
from neta.evaluate.captioner import decode
from neta.features.backbones import build_extractor
from neta.models.captioner_checkpoint import load_captioner
from neta.text.vocab import Vocabulary


def caption_photos(model_path: str | os.PathLike, images: Sequence[str | os.PathLike], *, beam: int, top: int,
                   max_len: int, length_norm: bool, device: str,
                   weights_file: str | os.PathLike | None = None) -> list[dict]:
    """One dict a photo: ``image`` and ``captions`` (text, tokens, logprob; best first)."""
    device_used = resolve_device(device)
    model, checkpoint = load_captioner(model_path, device=device_used)
    trained = checkpoint["features"]
    module, transforms, info = build_extractor(trained["backbone"], trained["layer"], weights_file=weights_file)
    if info.weights_sha256 != trained["weights_sha256"]:
        raise NetaError(f"{model_path}: trained on {trained['backbone']} features from weights with sha256 "
                        f"{trained['weights_sha256'][:16]}…, but the weights found ({info.weights_file}) have "
                        f"{info.weights_sha256[:16]}…; give the training run's weights file")
    crops = []
    for path in images:
        try:
            with Image.open(path) as image:
                crops.append(transforms(image.convert("RGB")))
        except (OSError, UnidentifiedImageError) as exc:
            raise NetaError(f"{path}: not an image Pillow can read ({exc})") from exc
    with torch.inference_mode():
        vectors = module(torch.stack(crops)).to(device_used)
    found = decode(model, vectors, Vocabulary.from_json(checkpoint["vocab"]),
                   language=checkpoint["settings"]["language"], beam=beam, top=top, max_len=max_len,
                   length_norm=length_norm)
    return [{"image": str(Path(path)), "captions": captions} for path, captions in zip(images, found, strict=True)]
