"""The Japanese font neta draws with: IPAexGothic, shipped inside the japanize-matplotlib wheel."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from neta.errors import NetaError


def ipaexgothic_path() -> Path:
    """Path of ipaexg.ttf, found through the package metadata (importing japanize_matplotlib would
    change matplotlib's global settings)."""
    try:
        path = Path(metadata.distribution("japanize-matplotlib").locate_file("japanize_matplotlib/fonts/ipaexg.ttf"))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise NetaError(
            "IPAexGothic (ipaexg.ttf from the japanize-matplotlib package) not found; pip install japanize-matplotlib"
        )
    return path
