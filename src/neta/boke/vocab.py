"""The word vocabulary: ids for tokens, ``<unk>`` below ``min_count``, stored as JSON (never pickled)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

from neta.atomic import write_json
from neta.errors import NetaError
from neta.json_files import read_json_object

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
FORMAT = "neta-vocabulary"
VERSION = 1


class Vocabulary:
    """``words[i]`` is the token of id ``i``; ids 0..3 are ``<pad> <bos> <eos> <unk>``."""

    def __init__(self, words: list[str], *, min_count: int, source: str = "vocabulary") -> None:
        if list(words[: len(SPECIALS)]) != list(SPECIALS):
            raise NetaError(f"{source}: the first words must be {', '.join(SPECIALS)}, got {list(words[:4])}")
        if not all(isinstance(word, str) and word for word in words):
            raise NetaError(f"{source}: every word must be a non-empty string")
        if len(set(words)) != len(words):
            twice = sorted(w for w, n in Counter(words).items() if n > 1)
            raise NetaError(f"{source}: words listed twice: {', '.join(twice[:10])}")
        self.words = list(words)
        self.min_count = min_count
        self._ids = {word: i for i, word in enumerate(self.words)}

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], *, min_count: int) -> Vocabulary:
        """Every token seen at least ``min_count`` times, most frequent first, ties by the word itself."""
        counts = Counter(token for tokens in token_lists for token in tokens)
        for special in SPECIALS:
            counts.pop(special, None)  # a caption that spells "<unk>" must not get a second id for it
        kept = sorted((word for word, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *kept], min_count=min_count)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and (self.words, self.min_count) == (other.words, other.min_count)

    def encode(self, tokens: list[str]) -> list[int]:
        """``[<bos>, id, ..., <eos>]``, ``<unk>`` for a word not in the vocabulary."""
        return [self.bos_id, *(self._ids.get(token, self.unk_id) for token in tokens), self.eos_id]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The tokens of ``ids``: ``<pad>`` and ``<bos>`` skipped, up to the first ``<eos>``."""
        tokens = []
        for raw in ids:
            index = int(raw)
            if index == self.eos_id:
                break
            if index in (self.pad_id, self.bos_id):
                continue
            if not 0 <= index < len(self.words):
                raise NetaError(f"vocabulary: id {index} outside 0..{len(self.words) - 1} (a model trained "
                                "with another vocab.json?)")
            tokens.append(self.words[index])
        return tokens

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "min_count": self.min_count, "words": list(self.words)}

    @classmethod
    def from_json(cls, obj, *, source: str = "vocabulary") -> Vocabulary:
        """The vocabulary of a :meth:`to_json` object; ``source`` names it in error messages."""
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise NetaError(f"{source}: not a neta vocabulary (expected a JSON object with format {FORMAT!r})")
        if obj.get("version") != VERSION:
            raise NetaError(f"{source}: vocabulary version {obj.get('version')!r}, this neta reads {VERSION}")
        words, min_count = obj.get("words"), obj.get("min_count")
        if not isinstance(words, list):
            raise NetaError(f"{source}: 'words' must be a list of strings")
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise NetaError(f"{source}: min_count must be an integer >= 1, got {min_count!r}")
        return cls(words, min_count=min_count, source=source)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        obj = read_json_object(path, "the vocabulary", "rerun train_captioner, which writes it")
        return cls.from_json(obj, source=str(path))
