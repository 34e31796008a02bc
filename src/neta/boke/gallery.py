"""An HTML page of held-out photos with their generated and real captions (every text escaped)."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

from neta.atomic import write_text

_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:70em}
figure{display:flex;gap:1.5em;border-bottom:1px solid #ccc;padding:1em 0;margin:0}
img{width:224px;height:auto;object-fit:contain;flex:none}
ol{margin:.2em 0}.score{color:#777;font-size:85%}h2{font-size:100%;margin:.4em 0}"""


def write_gallery(path: str | os.PathLike, samples: Sequence[dict], *, title: str, summary: str) -> None:
    """``samples``: dicts with ``image`` (a URL or a path relative to the page), ``image_id``, ``generated``
    (dicts with ``text`` and ``logprob``, best first) and ``references`` (texts)."""
    figures = []
    for sample in samples:
        generated = "".join(f'<li>{html.escape(c["text"])} <span class="score">({c["logprob"]:.2f})</span></li>'
                            for c in sample["generated"])
        real = "".join(f"<li>{html.escape(text)}</li>" for text in sample["references"])
        figures.append(
            f'<figure><img src="{html.escape(sample["image"], quote=True)}" '
            f'alt="photo {html.escape(sample["image_id"][:12])}" loading="lazy">'
            f"<figcaption><h2>generated (log-probability)</h2><ol>{generated}</ol>"
            f"<h2>real captions</h2><ul>{real}</ul></figcaption></figure>"
        )
    page = (f'<!doctype html><html lang="und"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>"
            + "\n".join(figures) + "</body></html>\n")
    write_text(path, page)
