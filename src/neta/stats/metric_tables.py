"""A ``metrics.json`` as a readable, self-contained HTML page of tables (for the Snakemake report).

Snakemake's report shows PNG, SVG, PDF and HTML results inline but offers JSON only as a download,
so each system's metrics become one HTML file: no script, no external stylesheet, every key and
value escaped. The layout follows the JSON, whatever its keys:

- the plain values (numbers, strings, lists of those) of an object: one two-column table;
- an object whose values are all objects (models, classes): one table, a row each, a column a field;
  a field that is itself an object of plain values (e.g. each model's per-pizza F1) becomes a table
  of its own with the rows and columns swapped (pizzas down, models across);
- a list of objects (e.g. most-confused pairs): one table, a row each;
- any other object: its own section, recursively.
"""

from __future__ import annotations

import html
import json
import numbers
from collections.abc import Mapping, Sequence

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; } h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.source { color: #666; font-size: 0.85em; }
"""


def _plain(value) -> bool:
    if value is None or isinstance(value, (str, bool, numbers.Number)):
        return True
    return isinstance(value, list) and all(_plain(item) and not isinstance(item, list) for item in value)


def _text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return format(float(value), ".6g")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and _plain(value):
        return ", ".join(_text(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cell(value, tag: str = "td") -> str:
    numeric = isinstance(value, numbers.Number) and not isinstance(value, bool)
    css = ' class="num"' if numeric and tag == "td" else ""
    return f"<{tag}{css}>{html.escape(_text(value))}</{tag}>"


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in header)
    body = "\n".join("<tr>" + _cell(row[0], "th") + "".join(_cell(value) for value in row[1:]) + "</tr>"
                     for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _columns(records: Sequence[Mapping], keep) -> list[str]:
    return list(dict.fromkeys(key for record in records for key, value in record.items() if keep(value)))


def _heading(path: Sequence[str]) -> str:
    level = min(2 + max(len(path) - 1, 0), 3)
    return f"<h{level}>{html.escape(' › '.join(path))}</h{level}>"


def _records_table(records: Sequence[Mapping]) -> str:
    columns = _columns(records, lambda value: True)
    return _table(["#", *columns], [[i + 1, *(record.get(key) for key in columns)]
                                    for i, record in enumerate(records)])


def _section(obj: Mapping, path: list[str]) -> list[str]:
    blocks: list[str] = []
    plain = [(key, value) for key, value in obj.items() if _plain(value)]
    if plain:
        if path:
            blocks.append(_heading(path))
        blocks.append(_table(["key", "value"], plain))
    for key, value in obj.items():
        if _plain(value):
            continue
        here = [*path, str(key)]
        if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
            blocks += [_heading(here), _records_table(value)]
        elif isinstance(value, Mapping) and value and all(isinstance(item, Mapping) for item in value.values()):
            blocks += _keyed_records(value, here)
        elif isinstance(value, Mapping):
            blocks += _section(value, here)
        else:
            blocks += [_heading(here), _table(["key", "value"], [[key, value]])]
    return blocks


def _keyed_records(records: Mapping[str, Mapping], path: list[str]) -> list[str]:
    """Objects of objects: one row a key; fields that are objects of plain values swapped into tables."""
    names = [str(name) for name in records]
    columns = _columns(records.values(), _plain)
    blocks = [_heading(path), _table(["", *columns], [[name, *(record.get(key) for key in columns)]
                                                      for name, record in zip(names, records.values(), strict=True)])]
    for field in _columns(records.values(), lambda value: not _plain(value)):
        values = [record.get(field) for record in records.values()]
        here = [*path, field]
        if all(value is None or (isinstance(value, Mapping) and all(_plain(v) for v in value.values()))
               for value in values):
            inner = list(dict.fromkeys(key for value in values if value for key in value))
            blocks += [_heading(here), _table(["", *names], [[key, *((value or {}).get(key) for value in values)]
                                                             for key in inner])]
        else:
            for name, value in zip(names, values, strict=True):
                if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
                    blocks += [_heading([*path, name, field]), _records_table(value)]
                elif isinstance(value, Mapping):
                    blocks += _section(value, [*path, name, field])
                elif value is not None:
                    blocks += [_heading([*path, name, field]), _table(["key", "value"], [[field, value]])]
    return blocks


def html_page(title: str, intro: str, body: str, *, style: str = "") -> str:
    """A self-contained report page: ``title``, one line of ``intro`` (escaped), then ``body`` (markup)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}{style}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p class=\"source\">{html.escape(intro)}</p>\n{body}\n"
        "</body>\n</html>\n"
    )


def metrics_html(metrics: Mapping, *, title: str, source: str) -> str:
    """The whole page: ``title``, where the numbers come from, then the tables of ``metrics``."""
    return html_page(title, f"from {source}", "\n".join(_section(metrics, [])))
