"""Writing the synthetic ETL8G files: each writer's sheet, the records, and the writer table beside them."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neta.atomic import write_text
from neta.diskspace import estimate
from neta.errors import NetaError
from neta.hiragana.etl.formats import EtlFormat, get_format
from neta.hiragana.etl.jis import HIRAGANA_75, decode_codes
from neta.hiragana.etl.synth.draw import draw_strokes
from neta.hiragana.etl.synth.glyphs import (
    Glyph,
    glyph_extent,
    glyph_templates,
    kanjivg_dir,
    load_strokes,
    split_marks,
)
from neta.hiragana.etl.synth.paper import PaperNoise, paper_noise, to_levels
from neta.hiragana.etl.synth.sheet import CHARS_PER_WRITER, reading_of, sheet_codes
from neta.hiragana.etl.synth.styles import FAMILIES, WriterStyle, check_families, writer_family, writer_style
from neta.hiragana.etl.synth.warp import _pen_index, normal_pen, pen_variants, warp_glyphs
from neta.hiragana.etl.writer import build_records, write_etl_file
from neta.hiragana.etl.writers_table import WRITERS_TABLE
from neta.progress import progress

log = logging.getLogger(__name__)

WRITERS_PER_FILE = 5  # as in the real ETL8G_01 .. ETL8G_33
_OVERSAMPLE = 2  # font glyphs are brought to the normal pen at this multiple of the ETL resolution


def synth_writer(
    writer_index: int,
    seed: int,
    codes: np.ndarray,
    hira_mask: np.ndarray,
    glyphs: dict[str, Glyph] | None,
    hira_templates: np.ndarray | None,
    kanji_pens: np.ndarray,
    noise: PaperNoise,
    family: str,
) -> tuple[np.ndarray, WriterStyle]:
    """(956, 127, 128) uint8 levels for one writer of ``family``, deterministic in (seed, writer_index).

    ``hira_templates`` are the pen variants of the writer's font (:func:`font_pens`), needed when the
    hiragana are not drawn from KanjiVG strokes: for ``font`` writers, or every writer without KanjiVG.
    """
    rng = np.random.default_rng([seed, writer_index])
    style = writer_style(rng, family)
    intensity = np.zeros((codes.size, 127, 128), dtype=np.float32)
    hira_chars = decode_codes(codes[hira_mask], "jis0208")
    if glyphs is not None and family != "font":
        for row, char in zip(np.flatnonzero(hira_mask), hira_chars, strict=True):
            intensity[row] = draw_strokes(glyphs[char], style, rng)
    else:
        intensity[hira_mask] = warp_glyphs(hira_templates[_pen_index(style)], style, rng, per_sample=True, elastic=1.0)
    intensity[~hira_mask] = warp_glyphs(kanji_pens[_pen_index(style)], style, rng, per_sample=False, elastic=0.0)
    return to_levels(np.clip(intensity, 0.0, 1.0), style, rng, noise), style


def synth_etl(
    out_dir: str | os.PathLike,
    *,
    fmt: str,
    writers: int,
    seed: int,
    families=FAMILIES,
    first_writer: int = 0,
    writers_per_file: int = WRITERS_PER_FILE,
    fonts: Sequence[str] | None = None,
    font_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Write SYNTHETIC ETL8G files (stand-in for the real database) to `out_dir`; return their paths.

    Writer ``first_writer + i`` (0-based; its ETL id is one more) belongs to
    ``writer_family(seed, first_writer + i, families)``; the table :data:`WRITERS_TABLE` beside the
    files records it. A held-out-style set passes the held-out families and
    :data:`HELDOUT_WRITER_BASE` so none of its writers is a training writer.
    Each ``font`` writer (every writer without KanjiVG) takes one of ``fonts`` (default: IPAexGothic and
    every handwriting font, :mod:`.handfonts`), chosen from (seed, writer index) among those installed
    in ``font_dir`` (default the venv's); the table records it.
    ``writers_per_file`` is the real files' layout, not a setting; tests lower it to make small files.
    """
    started = time.perf_counter()
    etl = get_format(fmt)
    if etl.name != "ETL8G":
        raise NetaError(f"synthetic data is made for ETL8G only, not {etl.name}; use --format ETL8G")
    if writers < 1 or writers_per_file < 1:
        raise NetaError(f"writers ({writers}) and writers_per_file ({writers_per_file}) must be at least 1")
    # imported here, not at the top: the package imports this module, and `python -m ...handfonts`
    # must not find itself imported before it runs
    from neta.hiragana.etl.synth import handfonts

    families = check_families(families, "families")
    fonts = handfonts.check_fonts(handfonts.font_names() if fonts is None else fonts, "fonts")
    font_dir = Path(font_dir) if font_dir is not None else handfonts.fonts_dir()
    if first_writer < 0 or first_writer + writers >= 1 << 16:
        raise NetaError(
            f"writer ids {first_writer + 1}..{first_writer + writers} do not fit ETL8G's 16-bit sheet field"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    codes = sheet_codes()
    chars = decode_codes(codes, "jis0208")
    hira_mask = np.isin(chars, np.asarray(HIRAGANA_75))
    folder = kanjivg_dir()
    if folder is not None:
        glyphs = {c: split_marks(c, load_strokes(folder, c)) for c in chars[hira_mask]}
        log.info("hiragana drawn from KanjiVG strokes in %s (CC BY-SA 3.0)", folder)
    else:
        glyphs = None
        log.warning("kanjivg package not installed: every writer's hiragana are a font's glyphs with distortions")
    if glyphs is None or "font" in families:
        fonts = handfonts.usable_fonts(fonts, font_dir)
        if not fonts:
            raise NetaError(f"no font for the font writers: none of the fonts asked for is installed in {font_dir}; "
                            f"run {handfonts.INSTALL_COMMAND}")
    hira_chars = list(chars[hira_mask])
    font_templates: dict[str, np.ndarray] = {}  # each font this run uses, rendered once
    kanji_pens = pen_variants(glyph_templates(list(chars[~hira_mask])))
    noise = paper_noise(np.random.default_rng([seed, 1 << 20]))
    readings = np.array([reading_of(c) for c in chars], dtype="S8")

    n_files = -(-writers // writers_per_file)
    written: list[Path] = []
    table = ["writer,family,font"]
    serial = 1
    # closed on an error too, so the error message starts a line of its own
    with progress(total=writers, desc="synth ETL8G writers", unit="writer", leave=False) as bar:
        for f in range(n_files):
            first = first_writer + f * writers_per_file
            ids = range(first, min(first_writer + writers, first + writers_per_file))
            images, metas = [], []
            for w in ids:
                family = writer_family(seed, w, families)
                # families come in turn, so w // len(families) counts a family's writers 0, 1, 2, ...
                from_font = glyphs is None or family == "font"
                font = handfonts.writer_font(seed, w // len(families), fonts) if from_font else ""
                if font and font not in font_templates:
                    font_templates[font] = font_pens(font, hira_chars, font_dir)
                levels, style = synth_writer(
                    w, seed, codes, hira_mask, glyphs, font_templates.get(font), kanji_pens, noise, family
                )
                images.append(levels)
                metas.append(_writer_fields(w, style, readings, serial))
                table.append(f"{w + 1},{family},{font}")
                serial += codes.size
                bar.update(1)
            n = len(images)
            fields = {k: np.concatenate([m[k] for m in metas]) for k in metas[0]}
            records = build_records(
                etl,
                np.tile(codes, n),
                np.repeat(np.array([w + 1 for w in ids], dtype=np.int32), codes.size),
                np.concatenate(images),
                fields,
            )
            written.append(write_etl_file(out_dir / f"ETL8G_{f + 1:02d}", etl, records))
    _remove_stale(out_dir, etl, written)
    write_text(out_dir / WRITERS_TABLE, "\n".join(table) + "\n")
    log.info(
        "synth_etl: %d writers (%d records; families %s; fonts %s) in %d SYNTHETIC ETL8G files in %s, %.1f s",
        writers,
        writers * codes.size,
        ", ".join(families),
        ", ".join(font_templates) or "none",
        len(written),
        out_dir,
        time.perf_counter() - started,
    )
    return written


def synth_bytes(writers: int, fmt: str = "ETL8G") -> int:
    """The disk ``writers`` synthetic writers take: a sheet of records each and the writer table, with a margin."""
    return estimate(writers, CHARS_PER_WRITER * get_format(fmt).record_size + 40)


def font_pens(name: str, chars: list[str], font_dir: Path) -> np.ndarray:
    """(3, N, 127, 128) uint8 pen variants of font ``name``'s ``chars``, sized like IPAexGothic's glyphs
    and brought to the normal pen, so fonts differ in shape only."""
    from neta.hiragana.etl.synth.handfonts import INSTALL_COMMAND, font_files  # here: see synth_etl

    files = font_files(name, chars, font_dir)
    if files is None:
        raise NetaError(f"font {name} is not installed in {font_dir}; run {INSTALL_COMMAND}")
    size = 100.0 * glyph_extent(chars) / glyph_extent(chars, files)
    return pen_variants(normal_pen(glyph_templates(chars, files, size, _OVERSAMPLE), _OVERSAMPLE))


def _writer_fields(w: int, style: WriterStyle, readings: np.ndarray, serial: int) -> dict[str, np.ndarray]:
    n = readings.size
    pos = np.arange(n)
    rng = np.random.default_rng([w, 7])
    return {
        "reading": readings,
        "serial": serial + pos,
        "eval_char": np.zeros(n, np.uint8),
        "eval_group": np.zeros(n, np.uint8),
        "gender": np.full(n, style.gender, np.uint8),
        "age": np.full(n, style.age, np.uint8),
        "industry": np.full(n, int(rng.integers(1, 20)), np.uint16),
        "occupation": np.full(n, int(rng.integers(1, 80)), np.uint16),
        "gather_date": np.full(n, 7400 + int(rng.integers(1, 13)), np.uint16),
        "scan_date": np.full(n, 7500 + int(rng.integers(1, 13)), np.uint16),
        "pos_x": (pos % 10).astype(np.uint8),
        "pos_y": ((pos // 10) % 10).astype(np.uint8),
    }


def _remove_stale(out_dir: Path, etl: EtlFormat, written: list[Path]) -> None:
    """Drop ETL8G files of an earlier, larger synthesis so the directory holds this run only."""
    keep = {p.name for p in written}
    for path in out_dir.iterdir():
        if path.is_file() and etl.matches(path.name) and path.name not in keep:
            log.warning("removing stale synthetic file %s", path)
            path.unlink()
