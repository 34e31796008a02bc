"""Captions to tokens: Japanese by MeCab (fugashi + unidic-lite) surface forms, English by words."""

from __future__ import annotations

import re
import unicodedata

from neta.errors import NetaError

LANGUAGES = ("ja", "en")
_AUTO = {"bokete": "ja", "bokete_can": "ja", "coco": "en", "karpathy": "en", "oogiri_go": "ja"}
_WHITESPACE = re.compile(r"\s+")
_ENGLISH_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalise(text: str) -> str:
    """NFKC (full-width letters and spaces to their plain forms), whitespace runs to one space, stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def resolve_language(dataset: str, language: str) -> str:
    """``language`` itself, or for ``auto`` the language of ``dataset``'s captions (both as the config
    schema allows them: captioner.language and captioner.dataset)."""
    return _AUTO[dataset] if language == "auto" else language


class Tokenizer:
    """``Tokenizer("ja")(text)`` or ``Tokenizer("en")(text)``: the token list of one caption."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            raise NetaError(f"tokenizer: language {language!r} is not one of {', '.join(LANGUAGES)}")
        self.language = language
        self._tagger = _mecab() if language == "ja" else None

    def __call__(self, text: str) -> list[str]:
        text = normalise(text)
        if self._tagger is None:
            return _ENGLISH_WORD.findall(text.lower())
        return [word.surface for word in self._tagger(text) if word.surface.strip()]


def _mecab():
    import fugashi
    import unidic_lite

    # Named explicitly: fugashi.Tagger() alone would prefer the full `unidic` package when one is
    # installed, and another dictionary cuts words differently (a different vocabulary).
    dicdir = unidic_lite.DICDIR
    try:
        return fugashi.Tagger(f'-d "{dicdir}" -r "{dicdir}/mecabrc"')
    except RuntimeError as exc:
        raise NetaError(f"MeCab cannot load the unidic-lite dictionary in {dicdir} ({exc}); "
                        "reinstall it with `pip install --force-reinstall unidic-lite`") from exc
