"""Figures every system draws with matplotlib: the Japanese font, and an atomic, reproducible PNG.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so
nothing here touches matplotlib's global backend or rc state. Japanese labels use the IPAexGothic
font file shipped inside the japanize-matplotlib wheel, located without importing that package
(importing it rewrites the global rc settings).
"""

from __future__ import annotations

import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from neta.atomic import atomic_path
from neta.fonts import ipaexgothic_path


def japanese_font(size: float | None = None) -> FontProperties:
    return FontProperties(fname=str(ipaexgothic_path()), size=size)


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> None:
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        # No Software/date metadata, so the same figure gives the same bytes.
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
