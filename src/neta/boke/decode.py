"""Captions of feature vectors: the model's beam search in batches of photos, ids turned into text."""

from __future__ import annotations

import torch

from neta.boke.vocab import Vocabulary

PHOTOS_A_CALL = 32  # photos a beam-search call: 32 x beam 20 LSTM states a step



def caption_text(tokens: list[str], language: str) -> str:
    """Japanese is written without spaces between words; English with them."""
    return ("" if language == "ja" else " ").join(tokens)



def decode(model, vectors: torch.Tensor, vocab: Vocabulary, *, language: str, beam: int, top: int, max_len: int,
           length_norm: bool) -> list[list[dict]]:
    """Top captions of each vector: dicts with tokens, text and logprob, best first."""
    results = []
    for start in range(0, len(vectors), PHOTOS_A_CALL):
        found = model.beam_search(vectors[start : start + PHOTOS_A_CALL], bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                                  beam=beam, top=top, max_len=max_len, length_norm=length_norm)
        for hypotheses in found:
            results.append([{"tokens": (tokens := vocab.decode(ids)), "text": caption_text(tokens, language),
                             "logprob": round(float(score), 4)} for ids, score in hypotheses])
    return results
