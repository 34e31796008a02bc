"""The summary of the human ratings (:func:`neta.ratings.stats.summarise`) as readable text and as a
self-contained HTML page in the style of the metric tables (for the Snakemake report)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from neta.stats.metric_tables import html_page


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.0f} %"


def interval(ci: Sequence[float] | None) -> str:
    return "–" if ci is None else f"[{100 * ci[0]:.0f} %, {100 * ci[1]:.0f} %]"


def agreement_text(agreement: Mapping) -> str:
    alpha = agreement["krippendorff_alpha"]
    if alpha is None:
        return "no photo and pair has been rated twice yet, so there is no agreement between raters to measure"
    return (f"Krippendorff's alpha {alpha:.3f} over {agreement['units']} photo-and-pair units rated more than "
            f"once ({agreement['judgements']} judgements); 1 is perfect agreement, 0 what chance gives")


def headline(summary: Mapping) -> str:
    return (f"{plural(summary['judgements'], 'judgement')} ({summary['skips']} skipped besides) by "
            f"{plural(summary['raters'], 'rater')}")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def pair_rows(summary: Mapping) -> list[list]:
    return [[f"{p['a']} vs {p['b']}", p["a_wins"], p["b_wins"], p["neither"], p["n"], percent(p["a_rate"]),
             interval(p["a_ci"])] for p in summary["pairs"]]


def source_rows(summary: Mapping) -> list[list]:
    return [[name, s["wins"], s["losses"], s["neither"], s["n"], percent(s["win_rate"]), interval(s["ci"])]
            for name, s in summary["sources"].items()]


PAIR_HEADER = ["pair (a vs b)", "a wins", "b wins", "neither", "n", "a's win rate", "95 % interval"]
SOURCE_HEADER = ["source", "wins", "losses", "neither", "n", "win rate", "95 % interval"]


def text_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """Columns padded to their widest cell, the first left-aligned and the rest right-aligned."""
    cells = [[str(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                               for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in cells)


def summary_text(summary: Mapping, *, source: str) -> str:
    parts = [f"Ratings in {source}: {headline(summary)}"]
    if summary["pairs"]:
        parts += ["", "Each pair of sources (a's share of the judgements decided between the two):",
                  text_table(PAIR_HEADER, pair_rows(summary)),
                  "", "Each source against all others:", text_table(SOURCE_HEADER, source_rows(summary))]
    parts += ["", f"Agreement: {agreement_text(summary['agreement'])}."]
    return "\n".join(parts) + "\n"


def _html_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "\n".join(
        "<tr>" + f"<th>{html.escape(str(row[0]))}</th>"
        + "".join(f"<td class=\"num\">{html.escape(str(value))}</td>" for value in row[1:]) + "</tr>"
        for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def ratings_html(summary: Mapping, *, source: str) -> str:
    """The page: the totals, each pair's win rate, each source's, and the raters' agreement."""
    blocks = [_html_table(["", "value"], [["judgements (not skipped)", summary["judgements"]],
                                          ["skipped", summary["skips"]], ["raters", summary["raters"]]])]
    if summary["pairs"]:
        blocks += ["<h2>Each pair of sources</h2>",
                   "<p>a's share of the judgements decided between the two (neither excluded), with its "
                   "Wilson 95 % interval; sides were drawn at random, so left and right are folded.</p>",
                   _html_table(PAIR_HEADER, pair_rows(summary)),
                   "<h2>Each source against all others</h2>", _html_table(SOURCE_HEADER, source_rows(summary))]
    blocks += ["<h2>Agreement between raters</h2>", f"<p>{html.escape(agreement_text(summary['agreement']))}.</p>"]
    return html_page("Boke generator: blind human ratings (which boke is funnier)", f"from {source}",
                     "\n".join(blocks))
