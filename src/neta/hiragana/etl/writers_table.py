"""The writer table a synthetic ETL set keeps beside its files: which style family (and font) each
writer has. Its own small module, so the relayout and the evaluation read it without importing the
synthesis and what it loads."""

from __future__ import annotations

import os
from pathlib import Path

from neta.errors import NetaError

WRITERS_TABLE = "SYNTH_WRITERS.csv"  # beside the ETL files: writer id -> family, font (ignored by the reader)


def _writer_rows(etl_dir: str | os.PathLike) -> list[list[str]]:
    path = Path(etl_dir) / WRITERS_TABLE
    if not path.is_file():
        return []
    # tables written before the font column have two fields a row
    rows = [row.split(",") for row in path.read_text(encoding="utf-8").split()[1:]]
    bad = next((",".join(row) for row in rows if len(row) not in (2, 3) or not row[0].isdigit()), None)
    if bad is not None:
        raise NetaError(f"{path}: malformed writer table (row {bad!r}); rerun `neta etl synth`")
    return rows


def read_writer_families(etl_dir: str | os.PathLike) -> dict[int, str]:
    """Writer id -> style family from a synthetic set's :data:`WRITERS_TABLE`; {} for real ETL files."""
    return {int(row[0]): row[1] for row in _writer_rows(etl_dir)}


def read_writer_fonts(etl_dir: str | os.PathLike) -> dict[int, str]:
    """Writer id -> font, for the writers who wrote from a font (the ``font`` family, or every writer
    without KanjiVG); {} for real ETL files and for tables written before fonts were recorded."""
    return {int(row[0]): row[2] for row in _writer_rows(etl_dir) if len(row) == 3 and row[2]}


def read_writer_hands(etl_dir: str | os.PathLike) -> dict[int, str]:
    """Writer id -> the hand a writer wrote with: its font for a font writer, else its style family;
    {} for real ETL files."""
    return {int(row[0]): (row[2] if len(row) == 3 and row[2] else row[1]) for row in _writer_rows(etl_dir)}
