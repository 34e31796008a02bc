"""The one way to read a table a stage wrote (bokes.csv, menu.csv, a download manifest) back in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neta.errors import NetaError


def read_table(path: str | Path, required: tuple[str, ...], made_by: str) -> pd.DataFrame:
    """A UTF-8 CSV with at least the ``required`` columns, every cell read as text ("" when empty).

    ``made_by`` names the stage that writes the file, for the message that says how to fix it.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise NetaError(f"{path}: cannot read as CSV ({exc}); rerun {made_by}, which writes it") from exc
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise NetaError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(frame.columns)}); "
                        f"it must be the file {made_by} writes")
    return frame
