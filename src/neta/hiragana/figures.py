"""The hiragana evaluation figures: confusion matrix, misclassified samples, first-layer filters.

Built on ``matplotlib.figure.Figure`` (no pyplot); :func:`neta.figures.save_figure` writes them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from neta.figures import japanese_font


def confusion_figure(matrix: np.ndarray, classes: list[str], title: str) -> Figure:
    """Rows are true classes, columns predictions; colour is the row-normalised rate."""
    n = len(classes)
    rows = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    side = max(6.0, 0.16 * n + 2)
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    tick_font = japanese_font(size=7 if n > 40 else 10)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, fontproperties=tick_font)
    ax.set_yticklabels(classes, fontproperties=tick_font)
    ax.tick_params(length=0)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontproperties=japanese_font(size=11))
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, shrink=0.8, label="fraction of the true class")
    fig.tight_layout()
    return fig


def errors_figure(
    images: np.ndarray, true_chars: list[str], pred_chars: list[str], title: str, columns: int = 10
) -> Figure:
    """A grid of misclassified samples, each titled "true→pred"."""
    count = len(images)
    if count == 0:
        fig = Figure(figsize=(4, 1.5))
        fig.text(0.5, 0.5, "no misclassified test samples", ha="center", va="center")
        return fig
    columns = min(columns, count)
    rows = -(-count // columns)
    fig = Figure(figsize=(1.1 * columns, 1.25 * rows + 0.5))
    font = japanese_font(size=10)
    for i in range(count):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"{true_chars[i]}→{pred_chars[i]}", fontproperties=font, pad=2)
        ax.axis("off")
    fig.suptitle(title, fontproperties=japanese_font(size=11))
    fig.tight_layout()
    return fig


def filters_figure(filters: np.ndarray, activations: np.ndarray, sample: np.ndarray, title: str) -> Figure:
    """First-layer filters (K, 5, 5), the input sample and the K activation maps, as the original showed."""
    k = filters.shape[0]
    columns = 8
    rows = -(-k // columns)
    fig = Figure(figsize=(columns * 0.8 + 2.4, rows * 2 * 0.85 + 0.7))
    grid = fig.add_gridspec(
        2 * rows, columns + 2, width_ratios=[2.2, 0.3] + [1] * columns,
        left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.12, hspace=0.3,
    )
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(sample, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title("input", fontsize=9)
    ax.axis("off")
    limit = float(np.abs(filters).max()) or 1.0
    act_max = float(activations.max()) or 1.0
    for i in range(k):
        r, c = divmod(i, columns)
        ax = fig.add_subplot(grid[r, c + 2])
        # One symmetric scale for all filters so their weights compare across the grid.
        ax.imshow(filters[i], cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_axis_off()
        if i == 0:
            ax.set_title("filters", fontsize=8, loc="left")
        ax = fig.add_subplot(grid[rows + r, c + 2])
        ax.imshow(activations[i], cmap="magma", vmin=0, vmax=act_max, interpolation="nearest")
        ax.set_axis_off()
        if i == 0:
            ax.set_title("activations", fontsize=8, loc="left")
    fig.suptitle(title, fontproperties=japanese_font(size=11))
    return fig
