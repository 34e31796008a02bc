"""The generators' training animations as one page the Snakemake report shows.

Snakemake's report shows PNG, JPEG, SVG, HTML and PDF results inline and offers a GIF only as a
download, so the ``*_progress.gif`` files (tagged too, for download) are also gathered into one
self-contained HTML page, each inlined as a data URI and labelled with its model.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path

from neta.errors import NetaError
from neta.stats.metric_tables import html_page

STYLE = "figure { display: inline-block; margin: 0 1.5em 1.5em 0; } img { image-rendering: pixelated; }"


def gif_uri(path: str | os.PathLike) -> str:
    """A data URI of the GIF at ``path``; anything else is a NetaError naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NetaError(f"{path}: cannot read the animation ({exc}); rerun the training stage that writes it") from exc
    if not data.startswith((b"GIF87a", b"GIF89a")):
        raise NetaError(f"{path}: not a GIF file; rerun the training stage that writes it")
    return "data:image/gif;base64," + base64.b64encode(data).decode("ascii")


def animations_html(animations: Sequence[tuple[str, str | os.PathLike]], *, title: str) -> str:
    """One page of ``(label, gif path)`` animations, in the order given."""
    if not animations:
        raise NetaError("no animations given")
    figures = "\n".join(
        f'<figure><img src="{gif_uri(path)}" alt="{html.escape(label)}">'
        f"<figcaption>{html.escape(label)} ({html.escape(Path(path).name)})</figcaption></figure>"
        for label, path in animations
    )
    return html_page(title, "samples a few epochs apart, the same noise in every frame", figures, style=STYLE)
