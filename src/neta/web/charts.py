"""Bar charts drawn on the server as numbers for an inline-SVG template macro (no script, no style attribute).

Each function returns ``{"width", "height", "bars": [...]}`` in SVG user units; the labels stay
plain strings that the template escapes.
"""

from __future__ import annotations

from collections.abc import Sequence

CHAR = 7.5  # rough width of a label character at the chart's font size
FONT = 11


def columns(pairs: Sequence[tuple[str, int]], *, height: int = 120, min_bar: int = 12, gap: int = 3) -> dict:
    """Vertical bars, one a ``(label, value)``, labels underneath, values above."""
    pairs = [(str(label), int(value)) for label, value in pairs]
    top = max((value for _, value in pairs), default=0) or 1
    bar = max(min_bar, int(CHAR * max((len(label) for label, _ in pairs), default=1)) + 2)
    above, below = FONT + 4, FONT + 8
    bars = []
    for i, (label, value) in enumerate(pairs):
        h = round(height * value / top, 1)
        x = gap + i * (bar + gap)
        bars.append({"x": x, "y": above + height - h, "w": bar, "h": h, "label": label, "value": value,
                     "cx": x + bar / 2, "label_y": above + height + FONT + 3, "value_y": above + height - h - 3})
    return {"width": gap + len(pairs) * (bar + gap), "height": above + height + below, "bars": bars,
            "baseline": above + height}


def rows(pairs: Sequence[tuple[str, int]], *, width: int = 320, bar: int = 14, gap: int = 4) -> dict:
    """Horizontal bars, one a ``(label, value)``: the label left, the value right of its bar."""
    pairs = [(str(label), int(value)) for label, value in pairs]
    top = max((value for _, value in pairs), default=0) or 1
    left = int(CHAR * max((len(label) for label, _ in pairs), default=1)) + 8
    bars = []
    for i, (label, value) in enumerate(pairs):
        w = round(width * value / top, 1)
        y = gap + i * (bar + gap)
        bars.append({"x": left, "y": y, "w": w, "h": bar, "label": label, "value": value, "label_x": left - 6,
                     "value_x": left + w + 4, "text_y": y + bar - 3})
    return {"width": left + width + 60, "height": gap + len(pairs) * (bar + gap), "bars": bars}
