"""Handwriting fonts for the synthetic writers: Japanese hand-drawn families self-hosted by Fontsource.

KanjiVG gives one hand's strokes; real people write る, ぬ, も, ま or お otherwise. These font families
were drawn from real hands, so writers of the ``font`` family (see :mod:`.styles`) each take one of
them (or IPAexGothic) and warp it like handwriting. They are OFL-1.1 fonts on the npm registry
(``@fontsource/<name>``); :func:`install` fetches each pinned package with ``npm pack`` and keeps
only what the synthesis reads: the licence, ``package.json``, the weight-400 stylesheet and the few
``.woff`` subset files whose ``unicode-range`` covers the 75 hiragana (a family's glyphs are split over
~120 subset files; a whole package is 1-26 MB, the kept part ~160 KB, mostly the stylesheet). Nothing
is committed: ``make install`` runs ``python -m neta.hiragana.etl.synth.handfonts install`` into the
venv, and a font that is not installed is skipped with a warning.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neta.atomic import atomic_dir
from neta.errors import NetaError
from neta.hiragana.etl.jis import HIRAGANA_75

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandFont:
    """One Fontsource package: its family name on npm, the pinned version and the font's licence."""

    name: str
    version: str
    licence: str = "OFL-1.1"

    @property
    def spec(self) -> str:
        return f"@fontsource/{self.name}@{self.version}"


# Hand-drawn families with all 75 hiragana, checked by eye; bold or geometric display faces are left
# out because no one writes like them.
HANDFONTS = tuple(
    HandFont(name, "5.3.0")
    for name in (
        "yomogi", "zen-kurenaido", "klee-one", "hachi-maru-pop", "yusei-magic", "yuji-syuku", "yuji-boku",
        "yuji-mai", "kiwi-maru", "kaisei-decol", "stick", "darumadrop-one", "slackside-one",
    )
)
BASE_FONT = "ipaexgothic"  # IPAexGothic's name among the fonts a writer may take; always installed
CSS = "400.css"  # the regular weight: the one closest to a pen
INSTALL_COMMAND = "make install (or: python -m neta.hiragana.etl.synth.handfonts install)"
_FONT_STREAM = 1 << 22  # seed stream of the writers' fonts, apart from families and the writers' own
_FACE = re.compile(r"@font-face\s*\{(.*?)\}", re.S)
# the css names subset files ./files/<family>-<n>-400-normal.woff; nothing else may leave the tarball
_WOFF = re.compile(r"url\(\s*['\"]?\./files/([\w.-]+\.woff)['\"]?\s*\)")
_RANGE = re.compile(r"unicode-range\s*:\s*([^;}]+)")


def fonts_dir() -> Path:
    """Where the fonts are installed: inside the venv (``sys.prefix``), so each venv has its own."""
    return Path(sys.prefix) / "share" / "neta-handfonts"


def font_names() -> tuple[str, ...]:
    """Every font a ``font`` writer may take: IPAexGothic and the handwriting families."""
    return (BASE_FONT, *(f.name for f in HANDFONTS))


def check_fonts(names: Iterable[str], key: str) -> tuple[str, ...]:
    """``names`` as a tuple of known font names; an unknown one is an error naming ``key``."""
    names = tuple(names)
    unknown = [n for n in names if n not in font_names()]
    if unknown:
        raise NetaError(f"{key}: unknown font(s) {unknown}; known: {', '.join(font_names())}")
    return names


def training_fonts(heldout: Iterable[str]) -> tuple[str, ...]:
    """The fonts training writers take: all but the held-out ones (IPAexGothic is never held out)."""
    heldout = check_fonts(heldout, "hiragana.synth.heldout_fonts")
    if BASE_FONT in heldout:
        raise NetaError(f"hiragana.synth.heldout_fonts: {BASE_FONT} is always a training font; name handwriting fonts")
    return tuple(n for n in font_names() if n not in heldout)


def writer_font(seed: int, index: int, fonts: Sequence[str]) -> str:
    """The font of the ``index``-th font writer (0-based) among ``fonts``, deterministic in (seed, index).

    Fonts are taken in turn from a seeded start, so a run uses every font once before any twice (a
    random draw left fonts out of a run of ten font writers).
    """
    if not fonts:
        raise NetaError("writer_font: no fonts to choose from")
    start = int(np.random.default_rng([seed, _FONT_STREAM]).integers(len(fonts)))
    return fonts[(index + start) % len(fonts)]


# --- the stylesheet: which subset file holds which character ------------------------------------


def _spans(ranges: str) -> list[tuple[int, int]]:
    """CSS ``unicode-range`` (``U+3041-307f,U+4??``) as inclusive (low, high) code point pairs."""
    spans = []
    for part in ranges.split(","):
        part = part.strip().upper().removeprefix("U+")
        if not part:
            continue
        low, _, high = part.partition("-")
        high = high or low
        # a "?" stands for any hex digit: U+4?? is U+400-4FF
        spans.append((int(low.replace("?", "0"), 16), int(high.replace("?", "F"), 16)))
    return spans


def font_faces(css: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """The ``@font-face`` blocks of a Fontsource stylesheet as (woff file name, code point spans)."""
    faces = []
    for block in _FACE.findall(css):
        woff, ranges = _WOFF.search(block), _RANGE.search(block)
        if woff and ranges:
            faces.append((woff.group(1), _spans(ranges.group(1))))
    return faces


def covering_files(css: str, chars: Iterable[str], what: str = "stylesheet") -> dict[str, str]:
    """Per character, the woff file whose ``unicode-range`` covers it (the first, as a browser picks)."""
    faces = font_faces(css)
    # a Japanese family has ~120 faces of ~50 spans each: test each character against all at once
    face = np.array([i for i, (_, spans) in enumerate(faces) for _ in spans], dtype=np.int64)
    low, high = np.array([span for _, spans in faces for span in spans], dtype=np.int64).reshape(-1, 2).T
    out = {}
    for char in chars:
        code = ord(char)
        hits = face[(low <= code) & (code <= high)]
        if hits.size == 0:
            raise NetaError(f"{what}: no @font-face covers {char!r} (U+{code:04X})")
        out[char] = faces[int(hits.min())][0]
    return out


# --- install -------------------------------------------------------------------------------------


def npm_pack(spec: str, into: Path) -> Path:
    """``npm pack <spec>`` in the folder ``into``; the path of the package's tarball there."""
    npm = shutil.which("npm")
    if npm is None:
        raise NetaError(
            f"npm not found: the handwriting fonts ({spec} and others) come from the npm registry; "
            "install Node.js with npm, then run " + INSTALL_COMMAND
        )
    # npm's cache goes in the temporary folder too: it would keep every whole tarball (~160 MB in all)
    argv = [npm, "pack", spec, f"--cache={into / '.npm-cache'}", "--ignore-scripts", "--loglevel=error",
            "--no-update-notifier"]
    try:
        proc = subprocess.run(argv, cwd=into, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetaError(f"npm pack {spec}: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-800:]
        raise NetaError(f"npm pack {spec} failed (exit {proc.returncode}): {tail}")
    tarballs = sorted(into.glob("*.tgz"))
    if len(tarballs) != 1:
        raise NetaError(f"npm pack {spec}: expected one .tgz in {into}, found {[p.name for p in tarballs]}")
    return tarballs[0]


def _member(tar: tarfile.TarFile, name: str, spec: str) -> bytes:
    try:
        info = tar.getmember(f"package/{name}")
    except KeyError:
        raise NetaError(f"{spec}: the package has no {name}") from None
    handle = tar.extractfile(info) if info.isfile() else None
    if handle is None:
        raise NetaError(f"{spec}: package/{name} is not a regular file")
    return handle.read()


def _extract(tarball: Path, out: Path, font: HandFont, chars: Sequence[str]) -> None:
    """Copy the few members the synthesis reads; paths are built here, never taken from the archive."""
    # unpacked in memory once: members are read out of archive order, and each backward seek in a
    # gzip stream would decompress it again from the start
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball.read_bytes())), mode="r:") as tar:
        kept = {name: _member(tar, name, font.spec) for name in ("LICENSE", "package.json", CSS)}
        version = json.loads(kept["package.json"]).get("version")
        if version != font.version:
            raise NetaError(f"{font.spec}: npm gave version {version}")
        woffs = sorted(set(covering_files(kept[CSS].decode("utf-8"), chars, f"{font.spec} {CSS}").values()))
        for name, data in kept.items():
            (out / name).write_bytes(data)
        (out / "files").mkdir()
        for woff in woffs:
            (out / "files" / woff).write_bytes(_member(tar, f"files/{woff}", font.spec))


def is_installed(font: HandFont, dest: Path, chars: Sequence[str] = HIRAGANA_75) -> bool:
    """Whether ``dest/<name>`` holds this version with a file for every one of ``chars``."""
    folder = dest / font.name
    try:
        version = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")
        files = covering_files((folder / CSS).read_text(encoding="utf-8"), chars)
    except (OSError, ValueError, NetaError):
        return False
    return version == font.version and all((folder / "files" / f).is_file() for f in set(files.values()))


def install(
    dest: str | Path | None = None,
    fonts: Sequence[HandFont] = HANDFONTS,
    *,
    pack: Callable[[str, Path], Path] = npm_pack,
    chars: Sequence[str] = HIRAGANA_75,
) -> list[str]:
    """Install the fonts missing from ``dest`` (default :func:`fonts_dir`); return the names installed now.

    Each font is filled in a temporary folder beside ``dest/<name>`` and renamed into place, so a
    killed install leaves no half-written font (its leftover is removed by the next install).
    ``pack`` fetches a package's tarball (tests pass a stand-in for npm).
    """
    dest = Path(dest) if dest is not None else fonts_dir()
    done = []
    for font in fonts:
        if is_installed(font, dest, chars):
            continue
        with tempfile.TemporaryDirectory(prefix="neta-handfont-") as tmp:
            tarball = pack(font.spec, Path(tmp))
            with atomic_dir(dest / font.name) as out:
                _extract(tarball, out, font, chars)
        log.info("installed %s (%s) in %s", font.spec, font.licence, dest / font.name)
        done.append(font.name)
    return done


# --- reading installed fonts ---------------------------------------------------------------------


def font_files(name: str, chars: Sequence[str], dest: Path) -> list[Path] | None:
    """The font file of each character for font ``name``, or None when it is not installed in ``dest``."""
    if name == BASE_FONT:
        from neta.fonts import ipaexgothic_path

        return [ipaexgothic_path()] * len(chars)
    font = next((f for f in HANDFONTS if f.name == name), None)
    if font is None:
        raise NetaError(f"unknown font {name!r}; known: {', '.join(font_names())}")
    if not is_installed(font, dest, chars):
        return None
    folder = dest / name
    files = covering_files((folder / CSS).read_text(encoding="utf-8"), chars, str(folder / CSS))
    return [folder / "files" / files[c] for c in chars]


def usable_fonts(names: Iterable[str], dest: Path, chars: Sequence[str] = HIRAGANA_75) -> tuple[str, ...]:
    """Those of ``names`` that are installed in ``dest`` (IPAexGothic always); each missing one is logged."""
    usable, missing = [], []
    for name in check_fonts(names, "fonts"):
        font = next((f for f in HANDFONTS if f.name == name), None)
        (missing if font is not None and not is_installed(font, dest, chars) else usable).append(name)
    if missing:
        log.warning(
            "handwriting font(s) %s not installed in %s: skipped; run %s", ", ".join(missing), dest, INSTALL_COMMAND
        )
    return tuple(usable)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m neta.hiragana.etl.synth.handfonts",
        description="Install the handwriting fonts of the synthetic hiragana writers (npm pack @fontsource/...)",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    inst = sub.add_parser("install", help="fetch the missing fonts; a second run fetches nothing")
    inst.add_argument("--dest", default=None, help=f"folder to install into (default {fonts_dir()})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dest = Path(args.dest) if args.dest else fonts_dir()
    try:
        done = install(dest)
    except NetaError as exc:
        print(f"neta: {exc}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    print(f"handwriting fonts in {dest}: {len(done)} installed now, {len(HANDFONTS) - len(done)} already there, "
          f"{size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
