"""Show and Tell: an LSTM that writes a caption (or a boke) for a photo's CNN feature vector.

Captions are id sequences ``<bos> w1 ... wn <eos>`` right-padded with ``<pad>``. The image enters once:

* ``t0`` (Vinyals et al.): ``linear(feature)`` is the LSTM's input at t = -1, before ``<bos>``; that
  step's output predicts nothing, it only sets the state;
* ``first_word`` (the bokete original): ``linear(feature)`` is added to the ``<bos>`` embedding.

Decoding (:meth:`ShowAndTell.beam_search`, :meth:`ShowAndTell.greedy`) scores a caption by
``log P(w1 ... wn <eos> | photo)``. A caption has at most ``max_len`` words: one still open after
``max_len`` words must end there, so its ``<eos>`` is forced and scored like any other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

IMAGE_INPUTS = ("t0", "first_word")

Caption = tuple[list[int], float]


class ShowAndTell(nn.Module):
    """Embedding, LSTM, dropout (on the inputs and the LSTM output), linear to the vocabulary."""

    def __init__(self, *, feature_dim: int, vocab_size: int, embed_size: int, hidden_size: int, layers: int,
                 dropout: float, image_input: str, pad_id: int = 0) -> None:
        super().__init__()
        if image_input not in IMAGE_INPUTS:
            raise ValueError(f"image_input must be one of {IMAGE_INPUTS}, got {image_input!r}")
        for name, value in (("feature_dim", feature_dim), ("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("layers", layers)):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.arch = {"feature_dim": int(feature_dim), "vocab_size": int(vocab_size), "embed_size": int(embed_size),
                     "hidden_size": int(hidden_size), "layers": int(layers), "dropout": float(dropout),
                     "image_input": str(image_input), "pad_id": int(pad_id)}
        self.image_input = image_input
        self.pad_id = int(pad_id)
        self.vocab_size = int(vocab_size)
        self.image = nn.Linear(feature_dim, embed_size)
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        # nn.LSTM's own dropout only acts between stacked layers; it warns when there is one layer.
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers=layers, batch_first=True,
                            dropout=float(dropout) if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)

    def _start(self, features: torch.Tensor, first_words: torch.Tensor):
        """The first word inputs ``(B, E)`` and the LSTM state the words start from (None = zeros)."""
        image = self.drop(self.image(features))
        words = self.drop(self.embed(first_words))
        if self.image_input == "t0":
            _, state = self.lstm(image.unsqueeze(1))
            return words, state
        return words + image, None

    def forward(self, features: torch.Tensor, captions: torch.Tensor, lengths) -> torch.Tensor:
        """Logits ``(B, T-1, V)`` predicting ``captions[:, 1:]`` (teacher forcing); zeros past each length.

        ``lengths`` counts every token of a caption, ``<bos>`` and ``<eos>`` included, in any order.
        """
        steps = torch.as_tensor(lengths, dtype=torch.long, device="cpu") - 1
        if steps.numel() != captions.size(0) or int(steps.min()) < 1 or int(steps.max()) > captions.size(1) - 1:
            raise ValueError("lengths must give, per caption, 2..T tokens (<bos> ... <eos>)")
        first, state = self._start(features, captions[:, 0])
        rest = self.drop(self.embed(captions[:, 1:-1]))
        inputs = torch.cat([first.unsqueeze(1), rest], dim=1)
        packed = pack_padded_sequence(inputs, steps, batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed, state)
        # The vocabulary projection runs on the packed rows only: no work spent on padding.
        logits = hidden._replace(data=self.out(self.drop(hidden.data)))
        padded, _ = pad_packed_sequence(logits, batch_first=True, total_length=captions.size(1) - 1)
        return padded

    def loss(self, features: torch.Tensor, captions: torch.Tensor, lengths,
             weights: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
        """Cross-entropy summed over the real (non-``<pad>``) targets, and how many there are; with
        ``weights (B,)`` each caption's targets count its weight times."""
        logits = self(features, captions, lengths)
        targets = captions[:, 1:]
        steps = torch.as_tensor(lengths, dtype=torch.long, device=captions.device) - 1
        mask = torch.arange(targets.size(1), device=captions.device).unsqueeze(0) < steps.unsqueeze(1)
        mask &= targets != self.pad_id
        if weights is None:
            return F.cross_entropy(logits[mask], targets[mask], reduction="sum"), int(mask.sum())
        each = weights.to(logits.device, logits.dtype).unsqueeze(1).expand_as(mask)[mask]
        total = (F.cross_entropy(logits[mask], targets[mask], reduction="none") * each).sum()
        return total, float(each.sum())

    def _step(self, words: torch.Tensor, state, bos_id: int) -> tuple[torch.Tensor, tuple]:
        """One LSTM step for a batch of word inputs ``(N, E)``: log-probabilities ``(N, V)`` and the new state.

        ``<pad>`` and ``<bos>`` are never targets in training, so a decoder may not pick them.
        """
        hidden, state = self.lstm(words.unsqueeze(1), state)
        logp = F.log_softmax(self.out(hidden.squeeze(1)), dim=-1)
        logp[:, [self.pad_id, bos_id]] = float("-inf")
        return logp, state

    @staticmethod
    def _only_eos(logp: torch.Tensor, eos_id: int) -> torch.Tensor:
        forced = torch.full_like(logp, float("-inf"))
        forced[..., eos_id] = logp[..., eos_id]
        return forced

    @torch.no_grad()
    def greedy(self, features: torch.Tensor, *, bos_id: int, eos_id: int, max_len: int,
               no_repeat: bool = False) -> list[Caption]:
        """The most likely next word at every step: per photo ``(word ids, log-probability)``; with
        ``no_repeat`` never the word just written."""
        _check_decode(max_len=max_len)
        return self._one_word_at_a_time(features, bos_id=bos_id, eos_id=eos_id, max_len=max_len, no_repeat=no_repeat,
                                        pick=lambda logp: logp.argmax(dim=1))

    def _one_word_at_a_time(self, features: torch.Tensor, *, bos_id: int, eos_id: int, max_len: int,
                            no_repeat: bool, pick) -> list[Caption]:
        """One caption a photo, ``pick(logp (N, V)) -> (N,)`` choosing each next word; a photo leaves the
        batch at its ``<eos>`` (forced at ``max_len``). ``(word ids, log-probability)`` a photo."""
        n = features.size(0)
        if n == 0:
            return []
        was_training = self.training
        self.eval()
        words, state = self._start(features, torch.full((n,), bos_id, dtype=torch.long, device=features.device))
        scores = torch.zeros(n, device=features.device)
        active = torch.arange(n, device=features.device)  # photos not ended yet, in ascending order
        tokens: list[list[int]] = [[] for _ in range(n)]
        results: list[Caption | None] = [None] * n
        token = None  # the words just written (none before the first step)
        for step in range(max_len + 1):
            logp, state = self._step(words, state, bos_id)
            if no_repeat and token is not None:
                logp[torch.arange(token.numel(), device=logp.device), token] = float("-inf")
            if step == max_len:
                logp = self._only_eos(logp, eos_id)
            token = pick(logp)
            scores = (scores.unsqueeze(1) + logp).gather(1, token.unsqueeze(1)).squeeze(1)
            ended = token == eos_id
            for photo, word, end, score in zip(active.tolist(), token.tolist(), ended.tolist(), scores.tolist(),
                                               strict=True):
                if end:
                    results[photo] = (tokens[photo], score)
                else:
                    tokens[photo].append(word)
            if bool(ended.all()):
                break
            keep = (~ended).nonzero().squeeze(1)
            active, scores, token = active[keep], scores[keep], token[keep]
            state = tuple(s.index_select(1, keep) for s in state)
            words = self.embed(token)
        self.train(was_training)
        return results

    @torch.no_grad()
    def beam_search(self, features: torch.Tensor, *, bos_id: int, eos_id: int, beam: int, top: int, max_len: int,
                    length_norm: bool, no_repeat: bool = False) -> list[list[Caption]]:
        """Per photo, up to ``top`` distinct captions ``(word ids, score)``, best first.

        All photos and all their ``beam`` partial captions advance together: one LSTM step on the
        ``photos x beam`` states, then a top-``beam`` over the ``beam x V`` extensions of each photo.
        A partial caption that picks ``<eos>`` leaves the beam for the photo's finished list and frees
        its slot. The search keeps partial captions by total log-probability; ``length_norm`` ranks the
        finished ones by log-probability a token (``<eos>`` counted), and the score returned is the
        ranking key. Without ``length_norm`` a photo stops as soon as its ``top`` best finished
        captions beat every open one (log-probabilities only fall), which changes no result.
        ``no_repeat`` never extends a caption with the word it ends with. ``beam=1`` is :meth:`greedy`.
        """
        _check_decode(max_len=max_len, beam=beam, top=top)
        n, dev = features.size(0), features.device
        if n == 0:
            return []
        was_training = self.training
        self.eval()
        words, state = self._start(features, torch.full((n,), bos_id, dtype=torch.long, device=dev))
        words = words.repeat_interleave(beam, dim=0)
        state = None if state is None else tuple(s.repeat_interleave(beam, dim=1) for s in state)
        # Slot 0 is the empty caption; the other slots start dead and fill from its extensions.
        scores = torch.full((n, beam), float("-inf"), device=dev)
        scores[:, 0] = 0.0
        history = torch.zeros((n, beam, 0), dtype=torch.long, device=dev)
        active = torch.arange(n, device=dev)
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
        token = None  # each slot's last word (none before the first step)
        for step in range(max_len + 1):
            logp, state = self._step(words, state, bos_id)
            logp = logp.view(-1, beam, self.vocab_size)
            if no_repeat and token is not None:
                logp.scatter_(2, token.unsqueeze(2), float("-inf"))
            if step == max_len:
                logp = self._only_eos(logp, eos_id)
            cand = (scores.unsqueeze(2) + logp).flatten(1)
            scores, index = cand.topk(beam, dim=1)
            origin, token = index // self.vocab_size, index % self.vocab_size
            history = torch.cat([history.gather(1, origin.unsqueeze(2).expand(-1, -1, step)), token.unsqueeze(2)],
                                dim=2)
            rows = (origin + beam * torch.arange(origin.size(0), device=dev).unsqueeze(1)).flatten()
            state = tuple(s.index_select(1, rows) for s in state)
            ended = (token == eos_id) & torch.isfinite(scores)
            if bool(ended.any()):
                photos = active.unsqueeze(1).expand_as(ended)[ended]
                for photo, score, caption in zip(photos.tolist(), scores[ended].tolist(),
                                                 history[ended][:, :-1].tolist(), strict=True):
                    finished[photo].append((score, caption))
            scores = scores.masked_fill(token == eos_id, float("-inf"))
            done = ~torch.isfinite(scores).any(dim=1)
            if not length_norm:
                done |= self._cannot_improve(finished, active, scores, top)
            if bool(done.all()):
                break
            keep = (~done).nonzero().squeeze(1)
            if keep.numel() < active.numel():
                active, scores, history, token = active[keep], scores[keep], history[keep], token[keep]
                slots = (beam * keep.unsqueeze(1) + torch.arange(beam, device=dev)).flatten()
                state = tuple(s.index_select(1, slots) for s in state)
            words = self.embed(token.flatten())
        self.train(was_training)
        return [_best(captions, top=top, length_norm=length_norm) for captions in finished]

    @torch.no_grad()
    def sample(self, features: torch.Tensor, *, bos_id: int, eos_id: int, max_len: int, top_k: int, top_p: float,
               temperature: float, no_repeat: bool, generator: torch.Generator) -> list[Caption]:
        """One caption a photo drawn word by word: from the ``top_k`` likeliest words whose probabilities
        (at ``temperature``) add up to ``top_p`` (nucleus), never the word just written with ``no_repeat``.
        Reproducible for a seeded ``generator`` (on the CPU). ``(word ids, log-probability)`` a photo."""
        _check_decode(max_len=max_len)
        return self._one_word_at_a_time(
            features, bos_id=bos_id, eos_id=eos_id, max_len=max_len, no_repeat=no_repeat,
            pick=lambda logp: _draw(logp, top_k=top_k, top_p=top_p, temperature=temperature, generator=generator))

    @staticmethod
    def _cannot_improve(finished, active: torch.Tensor, scores: torch.Tensor, top: int) -> torch.Tensor:
        """Per active photo: its ``top``-th best finished score is >= its best open score."""
        kth = [sorted((s for s, _ in finished[p]), reverse=True)[top - 1] if len(finished[p]) >= top
               else float("-inf") for p in active.tolist()]
        kth = torch.tensor(kth, device=scores.device, dtype=scores.dtype)
        return torch.isfinite(kth) & (kth >= scores.max(dim=1).values)


def _draw(logp: torch.Tensor, *, top_k: int, top_p: float, temperature: float,
          generator: torch.Generator) -> torch.Tensor:
    """One word a row of log-probabilities ``(N, V)``: top-k, then nucleus, at ``temperature``."""
    logits = logp / temperature
    k = min(top_k, logits.size(1))
    values, index = logits.topk(k, dim=1)
    probs = torch.softmax(values, dim=1)
    # nucleus: the likeliest words whose probabilities reach top_p (the first always stays)
    keep = probs.cumsum(dim=1) - probs < top_p
    probs = torch.where(keep, probs, torch.zeros_like(probs))
    choice = torch.multinomial(probs.cpu(), 1, generator=generator).to(index.device)
    return index.gather(1, choice).squeeze(1)


def _best(captions: list[tuple[float, list[int]]], *, top: int, length_norm: bool) -> list[Caption]:
    if length_norm:
        captions = [(score / (len(words) + 1), words) for score, words in captions]
    ranked = sorted(captions, key=lambda item: item[0], reverse=True)[:top]
    return [(words, score) for score, words in ranked]


def _check_decode(*, max_len: int, beam: int = 1, top: int = 1) -> None:
    if max_len < 0:
        raise ValueError(f"max_len must be >= 0, got {max_len}")
    if beam < 1 or top < 1:
        raise ValueError(f"beam and top must be >= 1, got beam={beam}, top={top}")
