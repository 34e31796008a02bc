"""Caption metrics: BLEU-1..4 and CIDEr-D with the COCO caption evaluation's own scorers.

pycocoevalcap's ``Bleu`` and ``Cider`` are pure Python (its tokenizer and METEOR/SPICE need Java and
are not used). They split on spaces, so both sides are given as the stage's own tokens joined by
single spaces: the generated captions are token sequences already, and the references are the
caption table's tokens, so Japanese (MeCab surface forms) and English are scored alike.

pycocoevalcap's ``Cider`` is CIDEr-D (clipped counts, a Gaussian length penalty, x10), with document
frequencies taken from the references of the photos scored: on a handful of test photos it says
little, which the report notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from neta.boke.dataset import CaptionSet, caption_loader
from neta.boke.model import ShowAndTell
from neta.device import resolve_device
from neta.errors import NetaError

METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D")


def caption_scores(references: Mapping[str, Sequence[Sequence[str]]],
                   hypotheses: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-1..4 and CIDEr-D of one generated token list a photo against its reference token lists."""
    if set(references) != set(hypotheses):
        missing = sorted(set(references) ^ set(hypotheses))[:5]
        raise NetaError(f"caption metrics: references and hypotheses name different photos (e.g. {missing})")
    if not references:
        raise NetaError("caption metrics: no photos to score")
    gts, res = {}, {}
    for key, refs in references.items():
        refs = [" ".join(tokens) for tokens in refs if len(tokens)]
        if not refs:
            raise NetaError(f"caption metrics: photo {key} has no non-empty reference caption")
        gts[key], res[key] = refs, [" ".join(hypotheses[key])]
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {**{f"BLEU-{n}": float(score) for n, score in enumerate(bleu, start=1)}, "CIDEr-D": float(cider)}


@torch.no_grad()
def mean_loss(model: ShowAndTell, data: CaptionSet, *, batch_size: int, device: torch.device, pad_id: int) -> float:
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    for features, captions, lengths, *_ in caption_loader(data, batch_size=batch_size, pad_id=pad_id, generator=None):
        loss, count = model.loss(features.to(device), captions.to(device), lengths)
        total += float(loss)
        tokens += count
    model.train(was_training)
    return total / max(tokens, 1)



def perplexity(model: ShowAndTell, data: CaptionSet, *, batch_size: int, device, pad_id: int) -> float:
    """``exp`` of the mean cross-entropy a target token of ``data`` (teacher forced, eval mode)."""
    return math.exp(mean_loss(model, data, batch_size=batch_size, device=resolve_device(str(device)), pad_id=pad_id))
