"""Captions of feature vectors: the model's beam search in batches of photos, ids turned into text.

With ``prefer_complete`` the finished captions of the beam (up to ``beam`` of them) are ranked
complete first (:mod:`neta.boke.quality`), each group in the beam's own order, and the first ``top``
are reported: a cut-off fragment is shown only when the beam found fewer complete captions.
"""

from __future__ import annotations

import torch

from neta.boke.config import SamplingSettings
from neta.boke.quality import incomplete_reason
from neta.boke.vocab import Vocabulary

PHOTOS_A_CALL = 32  # photos a beam-search call: 32 x beam 20 LSTM states a step


def caption_text(tokens: list[str], language: str) -> str:
    """Japanese is written without spaces between words; English with them."""
    return ("" if language == "ja" else " ").join(tokens)


def caption_of(ids: list[int], score: float, vocab: Vocabulary, *, language: str, max_len: int) -> dict:
    """A decoded caption as every decoder reports it: tokens, text, logprob, ``finished`` (it ended with
    ``<eos>`` before ``max_len``) and ``complete`` (:mod:`neta.boke.quality`)."""
    tokens, finished = vocab.decode(ids), len(ids) < max_len
    return {"tokens": tokens, "text": caption_text(tokens, language), "logprob": round(float(score), 4),
            "finished": finished, "complete": incomplete_reason(tokens, finished=finished, language=language) is None}


def beam_captions(model, vectors: torch.Tensor, vocab: Vocabulary, *, language: str, beam: int, top: int,
                  max_len: int, length_norm: bool, no_repeat: bool) -> list[list[dict]]:
    """The ``top`` best finished captions of each vector's beam search, in the beam's order."""
    results = []
    for start in range(0, len(vectors), PHOTOS_A_CALL):
        found = model.beam_search(vectors[start : start + PHOTOS_A_CALL], bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                                  beam=beam, top=top, max_len=max_len, length_norm=length_norm, no_repeat=no_repeat)
        results += [[caption_of(ids, score, vocab, language=language, max_len=max_len) for ids, score in hypotheses]
                    for hypotheses in found]
    return results


def complete_first(captions: list[dict], top: int) -> list[dict]:
    """The first ``top`` of ``captions`` with the complete ones ranked first, each group in its order."""
    return sorted(captions, key=lambda caption: not caption["complete"])[:top]  # a stable sort


def decode(model, vectors: torch.Tensor, vocab: Vocabulary, *, language: str, beam: int, top: int, max_len: int,
           length_norm: bool, no_repeat: bool, prefer_complete: bool) -> list[list[dict]]:
    """Top captions of each vector, best first (:func:`caption_of`'s dicts); with ``prefer_complete`` of the
    beam's finished captions (up to ``beam``) the complete ones first."""
    found = beam_captions(model, vectors, vocab, language=language, beam=beam,
                          top=max(top, beam) if prefer_complete else top, max_len=max_len,
                          length_norm=length_norm, no_repeat=no_repeat)
    return [complete_first(captions, top) for captions in found] if prefer_complete else found


def sample_captions(model, vectors: torch.Tensor, vocab: Vocabulary, *, language: str, max_len: int,
                    no_repeat: bool, sampling: SamplingSettings, seed: int) -> list[list[dict]]:
    """``sampling.samples`` captions drawn for each vector (:meth:`ShowAndTell.sample`), distinct ones in the
    order drawn, as :func:`caption_of`'s dicts; the same ``seed`` draws the same captions."""
    generator = torch.Generator().manual_seed(int(seed))
    repeated = vectors.repeat_interleave(sampling.samples, dim=0)
    drawn = model.sample(repeated, bos_id=vocab.bos_id, eos_id=vocab.eos_id, max_len=max_len, top_k=sampling.top_k,
                         top_p=sampling.top_p, temperature=sampling.temperature, no_repeat=no_repeat,
                         generator=generator)
    results = []
    for start in range(0, len(drawn), sampling.samples):
        distinct: dict[tuple, float] = {}  # each caption once, at its first draw
        for ids, score in drawn[start : start + sampling.samples]:
            distinct.setdefault(tuple(ids), score)
        results.append([caption_of(list(ids), score, vocab, language=language, max_len=max_len)
                        for ids, score in distinct.items()])
    return results
