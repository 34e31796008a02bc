"""The report's data figures, drawn from the dicts of :mod:`neta.stats.data` (never from the files).

Built on ``matplotlib.figure.Figure`` with the Agg canvas as the hiragana figures are, so nothing
here touches pyplot's global state; Japanese labels use IPAexGothic, Cyrillic ones matplotlib's
default DejaVu Sans (IPAexGothic sets Cyrillic full-width).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from neta.figures import japanese_font

BAR = "#4c72b0"
MB = 1_000_000


def _crawl_text(name: str, crawl: dict) -> str:
    statuses = ", ".join(f"{status} {n}" for status, n in crawl["by_status"].items()) or "none"
    return f"{name}: {crawl['images']} images listed ({statuses}), {crawl['bytes'] / MB:.1f} MB kept"


def _bars(ax, labels, counts, *, title: str, xlabel: str, ylabel: str, font=None) -> None:
    positions = range(len(labels))
    ax.bar(positions, counts, color=BAR)
    ax.set_xticks(list(positions))
    ax.set_xticklabels([str(label) for label in labels], fontproperties=font)
    ax.set_title(title, fontproperties=japanese_font(size=10))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if not labels:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)


def _thin_ticks(ax, labels, most: int = 20) -> None:
    """Every k-th tick label when there are more than ``most``."""
    step = max(1, -(-len(labels) // most))
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_visible(i % step == 0)


def _star_label(lo: int, hi: int) -> str:
    return str(lo) if hi - lo == 1 else f"{lo}–{hi - 1}"


def bokete_figure(stats: dict, crawl: dict) -> Figure:
    """Bokes a photo, stars a boke, tokens a caption and photos a split of :func:`bokete_statistics`."""
    fig = Figure(figsize=(11, 8))
    axes = fig.subplots(2, 2)
    per_photo = stats["bokes_per_photo"]
    labels, counts = zip(*per_photo["histogram"], strict=True) if per_photo["histogram"] else ((), ())
    _bars(axes[0, 0], labels, counts, xlabel="bokes on the photo", ylabel="photos",
          title=f"bokes a photo (median {per_photo['median']}, max {per_photo['max']})")
    _thin_ticks(axes[0, 0], labels)
    stars = stats["stars"]
    _bars(axes[0, 1], [_star_label(lo, hi) for lo, hi, _ in stars["histogram"]],
          [n for *_, n in stars["histogram"]], xlabel="stars (bins of a 1-2-5 series)", ylabel="bokes",
          title=f"stars a boke (median {stars['median']}, max {stars['max']})")
    axes[0, 1].tick_params(axis="x", labelrotation=45)
    length = stats["caption_length"]
    labels, counts = zip(*length["histogram"], strict=True) if length["histogram"] else ((), ())
    _bars(axes[1, 0], labels, counts, xlabel="tokens (MeCab)", ylabel="captions",
          title=f"caption length (median {length['median']}, max {length['max']}); "
                f"vocabulary {stats['vocabulary_size']}")
    _thin_ticks(axes[1, 0], labels)
    splits = stats["splits"]
    _bars(axes[1, 1], list(splits), list(splits.values()), xlabel="split", ylabel="photos",
          title="photos a split of the caption table")
    fig.suptitle(f"bokete: {stats['bokes']} bokes on {stats['photos']} photos\n{_crawl_text('photo download', crawl)}",
                 fontproperties=japanese_font(size=11))
    fig.tight_layout()
    return fig


def pizza_figure(stats: dict, crawl: dict) -> Figure:
    """Ingredient frequencies of :func:`pizza_statistics`, most frequent on top."""
    ingredients = stats["ingredients"]
    fig = Figure(figsize=(9, max(4.0, 0.28 * len(ingredients) + 1.8)))
    ax = fig.add_subplot()
    names = [name for name, _ in ingredients][::-1]
    counts = [n for _, n in ingredients][::-1]
    ax.barh(range(len(names)), counts, color=BAR)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=9)  # matplotlib's DejaVu Sans: IPAexGothic spaces Cyrillic full-width
    ax.set_xlabel("pizzas with the ingredient")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if not names:
        ax.text(0.5, 0.5, "no recipes", ha="center", va="center", transform=ax.transAxes)
    per = stats["ingredients_per_pizza"]
    ax.set_title(f"{stats['pizzas']} pizzas, {stats['vocabulary_size']} ingredients; "
                 f"{per['min']}–{per['max']} a pizza (median {per['median']})\n{_crawl_text('photo download', crawl)}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def hiragana_figure(stats: dict) -> Figure:
    """Samples a class of :func:`etl_statistics`, in class order."""
    per_class = stats["per_class"]
    fig = Figure(figsize=(max(8.0, 0.17 * len(per_class) + 1.5), 3.8))
    ax = fig.add_subplot()
    chars = [char for char, _ in per_class]
    ax.bar(range(len(chars)), [n for _, n in per_class], color=BAR)
    ax.set_xticks(range(len(chars)))
    ax.set_xticklabels(chars, fontproperties=japanese_font(size=8))
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(-0.7, len(chars) - 0.3)
    ax.set_ylabel("samples")
    split = stats["split"]
    ax.set_title(f"ETL: {stats['samples']} samples of {stats['classes']} classes by {stats['writers']} writers "
                 f"(train {split['train']}, test {split['test']}; writers never on both sides)",
                 fontproperties=japanese_font(size=10))
    fig.tight_layout()
    return fig
