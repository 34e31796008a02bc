"""`neta caption`: the top captions of new photos, their vectors made as the training data's were.

:class:`PhotoCaptioner` holds a trained captioner and, from its first use, the CNN backbone its
training vectors came from (the weights checked by SHA-256), so a long-running caller (``neta serve``)
loads both once; :func:`caption_photos` is the one-shot command over it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from neta.boke.checkpoint import load_captioner
from neta.boke.config import DecodeSettings, SamplingSettings
from neta.boke.decode import decode, sample_captions
from neta.boke.vocab import UNK, Vocabulary
from neta.device import resolve_device
from neta.errors import NetaError
from neta.features.backbones import build_extractor
from neta.images import ImageLimits, checked_image

Photo = str | os.PathLike | Image.Image  # a file, or an image already decoded (an upload)


class PhotoCaptioner:
    """A captioner checkpoint loaded once: captions of photos or of feature vectors, and the score of a text.

    ``features`` says what the training vectors were made with (backbone, layer, weights sha256, dim).
    Not thread-safe: a caller that shares one between threads holds a lock around every call.
    """

    def __init__(self, model_path: str | os.PathLike, *, device: str,
                 weights_file: str | os.PathLike | None = None) -> None:
        self.model_path = model_path
        self.device = resolve_device(device)
        self.model, self.checkpoint = load_captioner(model_path, device=self.device)
        self.vocab = Vocabulary.from_json(self.checkpoint["vocab"], source=str(model_path))
        self.language = self.checkpoint["settings"]["language"]
        self.features = self.checkpoint["features"]
        self._weights_file = weights_file
        self._backbone = None
        self._tokenizer = None

    def backbone(self):
        """(module, transforms) of the training run's backbone, built at the first call; other weights
        than the training run's are a NetaError."""
        if self._backbone is None:
            trained = self.features
            module, transforms, info = build_extractor(trained["backbone"], trained["layer"],
                                                       weights_file=self._weights_file)
            if info.weights_sha256 != trained["weights_sha256"]:
                raise NetaError(f"{self.model_path}: trained on {trained['backbone']} features from weights with "
                                f"sha256 {trained['weights_sha256'][:16]}…, but the weights found "
                                f"({info.weights_file}) have {info.weights_sha256[:16]}…; give the training run's "
                                "weights file")
            self._backbone = module, transforms
        return self._backbone

    def crop(self, photo: Photo, limits: ImageLimits | None = None) -> torch.Tensor:
        """The backbone's input made of one photo (a path or a PIL image); a file that cannot be used,
        or is over ``limits`` (None: a photo already checked), is an ImageRefused naming it."""
        _, transforms = self.backbone()
        return transforms(_rgb(photo, limits))

    def vectors(self, photos: Sequence[Photo], limits: ImageLimits | None = None) -> torch.Tensor:
        """``(N, dim)`` feature vectors of photos (paths or PIL images), on the model's device.

        The backbone's weights are checked before any photo is read.
        """
        self.backbone()
        return self.crop_vectors(torch.stack([self.crop(photo, limits) for photo in photos]))

    def crop_vectors(self, crops: torch.Tensor) -> torch.Tensor:
        """:meth:`vectors` of photos already made the backbone's input by :meth:`crop`."""
        module, _ = self.backbone()
        with torch.inference_mode():
            return module(crops).to(self.device)

    def caption_vectors(self, vectors: torch.Tensor, **decoding) -> list[list[dict]]:
        """Top captions of each vector, best first (:func:`neta.boke.decode.decode`); ``decoding``: the
        captioner.decode values (beam, top, max_len, length_norm, no_repeat, prefer_complete)."""
        return decode(self.model, vectors.to(self.device), self.vocab, language=self.language, **decoding)

    def sample_vectors(self, vectors: torch.Tensor, *, max_len: int, no_repeat: bool, sampling: SamplingSettings,
                       seed: int) -> list[list[dict]]:
        """Captions drawn at random for each vector (:func:`neta.boke.decode.sample_captions`), seeded."""
        return sample_captions(self.model, vectors.to(self.device), self.vocab, language=self.language,
                               max_len=max_len, no_repeat=no_repeat, sampling=sampling, seed=seed)

    def caption(self, photos: Sequence[Photo], limits: ImageLimits | None = None, **decoding) -> list[list[dict]]:
        """Top captions of each photo (a path or a PIL image), best first; the first photo that cannot
        be used stops them all (:func:`caption_photos` goes on past it)."""
        return self.caption_vectors(self.vectors(photos, limits), **decoding)

    def tokenize(self, text: str) -> list[str]:
        """``text`` cut into words as the training captions were (the tokenizer made at the first call)."""
        if self._tokenizer is None:
            from neta.boke.tokens import Tokenizer

            self._tokenizer = Tokenizer(self.language)
        return self._tokenizer(text)

    def score(self, text: str, vector: torch.Tensor) -> dict:
        """How likely the model finds ``text`` as the caption of the photo with feature ``vector``.

        ``{"text", "tokens", "unknown", "logprob", "score"}``: the words as the model sees them (words
        outside its vocabulary as ``<unk>``, listed in ``unknown``), ``log P(w1 ... wn <eos> | photo)``
        and that per token (``<eos>`` counted), the number beam search ranks by with ``length_norm``.
        """
        words = self.tokenize(text)
        if not words:
            raise NetaError("the text has no words to score")
        ids = self.vocab.encode(words)
        captions = torch.tensor([ids], dtype=torch.long, device=self.device)
        with torch.inference_mode():
            logits = self.model(vector.reshape(1, -1).to(self.device), captions, [len(ids)])
            logp = F.log_softmax(logits.float(), dim=-1)[0].gather(1, captions[0, 1:].unsqueeze(1))
        total = float(logp.sum())
        seen = [word if i != self.vocab.unk_id else UNK for word, i in zip(words, ids[1:-1], strict=True)]
        return {"text": text, "tokens": seen, "unknown": [w for w, s in zip(words, seen, strict=True) if s == UNK],
                "logprob": round(total, 4), "score": round(total / (len(ids) - 1), 4)}


def _rgb(photo: Photo, limits: ImageLimits | None) -> Image.Image:
    if isinstance(photo, Image.Image):
        return photo.convert("RGB")
    with checked_image(photo, limits) as image:
        return image.convert("RGB")


def caption_photos(model_path: str | os.PathLike, images: Sequence[str | os.PathLike], *, decoding: DecodeSettings,
                   device: str, limits: ImageLimits, weights_file: str | os.PathLike | None = None) -> list[dict]:
    """One dict a photo, in order: ``image`` and ``captions`` (text, tokens, logprob; best first), by beam
    search with ``decoding`` (the captioner.decode section). A photo that cannot be used (unreadable, over
    ``limits``) gets ``{"image", "error"}``, the NetaError's message, and the others are still captioned."""
    captioner = PhotoCaptioner(model_path, device=device, weights_file=weights_file)
    captioner.backbone()  # its weights' error is the run's, not the first photo's
    rows: list[dict] = []
    crops: list[torch.Tensor] = []
    for path in images:
        rows.append({"image": str(Path(path))})
        try:
            crops.append(captioner.crop(path, limits))
        except NetaError as exc:
            rows[-1]["error"] = str(exc)
    if crops:
        found = iter(captioner.caption_vectors(captioner.crop_vectors(torch.stack(crops)), **decoding.record()))
        for row in rows:
            if "error" not in row:
                row["captions"] = next(found)
    return rows
