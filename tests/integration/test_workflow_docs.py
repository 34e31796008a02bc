"""What the README and docs/ say of the workflow holds: `--configfile config/test.yaml` plans the whole
DAG with the tiny values, and docs/rulegraph.{dot,svg} show the rule graph the workflow has now."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RULEGRAPH_DOT = REPO / "docs" / "rulegraph.dot"
RULEGRAPH_SVG = REPO / "docs" / "rulegraph.svg"
REGENERATE = "run `make rulegraph` and commit docs/rulegraph.dot and docs/rulegraph.svg"


def leaves(tree, path=()):
    """(key path, value) of every value of a nested dict that is not itself a dict."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, (*path, key))
    else:
        yield path, tree


def lookup(tree, path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return KeyError
        tree = tree[key]
    return tree


def merged(base: dict, extra: dict) -> dict:
    """`extra` over `base` key by key at every depth, as Snakemake merges a --configfile."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def shell_settings(dry_run_text: str) -> list[tuple[list[str], dict]]:
    """The argv and --settings of every command a `--dry-run --printshellcmds` would run."""
    found = []
    for line in dry_run_text.splitlines():
        if line.startswith("Shell command: ") and line != "Shell command: None":  # None: rule all
            argv = shlex.split(line.removeprefix("Shell command: "))
            settings = json.loads(argv[argv.index("--settings") + 1]) if "--settings" in argv else {}
            found.append((argv, settings))
    return found


def test_configfile_test_yaml_plans_the_whole_dag_with_the_tiny_values(checkout_copy):
    """README: `snakemake --cores 2 --configfile config/test.yaml` runs the tiny configuration the
    tests use, merged over config.yaml at every depth."""
    flow = checkout_copy
    tiny = yaml.safe_load((flow.root / "config" / "test.yaml").read_text(encoding="utf-8"))
    config = flow.config()
    # A value of config.yaml beside test.yaml's keys, three levels down: only a recursive merge keeps it
    # (the schema's default is 5e-3).
    config["hiragana"]["baseline"]["lr"] = 0.004
    flow.write_config(config)
    expected = merged(config, tiny)

    whole_dag = flow.planned_jobs()
    jobs, text = flow.dry_run("--printshellcmds", "--configfile", "config/test.yaml")
    assert "all" in jobs and jobs == whole_dag, (jobs, whole_dag)
    commands = shell_settings(text)
    assert len(commands) == sum(jobs.values()) - jobs["all"], text

    # Every value a rule passes its command is the merged config's, where the config names it.
    for argv, settings in commands:
        for path, value in leaves(settings):
            want = lookup(expected, path)
            if want is not KeyError:
                assert value == want, (" ".join(argv[:5]), ".".join(path), value, want)
    # Every value of test.yaml reaches a command.
    for path, value in leaves(tiny):
        assert any(lookup(settings, path) == value for _, settings in commands), ".".join(path)
    (train,) = [settings for argv, settings in commands if argv[:3] == ["neta", "hiragana", "train"]]
    assert train["hiragana"]["baseline"] == {"steps": 200, "batch_size": 32, "lr": 0.004}
    steps = train["hiragana"]["train"]["steps"]
    assert steps == tiny["hiragana"]["train"]["steps"] != config["hiragana"]["train"]["steps"]


NODE = re.compile(r'\s*(\d+)\[label = "([^"]*)"(.*)\];\s*')
EDGE = re.compile(r"\s*(\d+) -> (\d+)\s*")


def rule_graph(dot: str) -> tuple[dict[str, str], set[tuple[str, str]], list[str]]:
    """A `snakemake --rulegraph` graph as rule -> its node's attributes, the edges between rules, and
    the other lines: Snakemake prints the edges in no fixed order, so they are compared as a set."""
    labels, attributes, edges, other = {}, {}, set(), []
    for line in dot.splitlines():
        if node := NODE.fullmatch(line):
            labels[node[1]] = node[2]
            attributes[node[2]] = node[3]
        elif edge := EDGE.fullmatch(line):
            edges.add((edge[1], edge[2]))
        elif line.strip():
            other.append(line.strip())
    return attributes, {(labels[a], labels[b]) for a, b in edges}, other


def test_docs_rulegraph_dot_is_the_workflows_rule_graph(checkout_copy):
    """`snakemake --rulegraph` of the default config (no job runs) is docs/rulegraph.dot, up to the
    order of the edges."""
    proc = checkout_copy.snakemake("--rulegraph")
    rules, edges, other = rule_graph(proc.stdout)
    assert rules, proc.stdout + proc.stderr
    assert RULEGRAPH_DOT.is_file(), f"docs/rulegraph.dot is missing: {REGENERATE}"
    saved_rules, saved_edges, saved_other = rule_graph(RULEGRAPH_DOT.read_text(encoding="utf-8"))
    assert set(rules) == set(saved_rules), (
        f"docs/rulegraph.dot is stale (rules now: {sorted(set(rules) - set(saved_rules))} new, "
        f"{sorted(set(saved_rules) - set(rules))} gone): {REGENERATE}")
    assert edges == saved_edges, (
        f"docs/rulegraph.dot is stale (edges now: {sorted(edges - saved_edges)} new, "
        f"{sorted(saved_edges - edges)} gone): {REGENERATE}")
    assert (rules, other) == (saved_rules, saved_other), f"docs/rulegraph.dot is stale: {REGENERATE}"


def test_docs_rulegraph_svg_is_rendered_from_the_dot_file():
    """Every rule and edge of docs/rulegraph.dot, and nothing else, is in docs/rulegraph.svg (read as
    XML: Graphviz titles a node by its id and an edge "a->b", and writes the rule as the node's text)."""
    dot = RULEGRAPH_DOT.read_text(encoding="utf-8")
    rules, edges, _ = rule_graph(dot)
    assert RULEGRAPH_SVG.is_file(), f"docs/rulegraph.svg is missing: {REGENERATE}"
    ns = {"svg": "http://www.w3.org/2000/svg"}
    svg = ElementTree.parse(RULEGRAPH_SVG).getroot()
    shown, ids = set(), {}
    for node in svg.iterfind(".//svg:g[@class='node']", ns):
        label = " ".join(text.text or "" for text in node.iterfind("svg:text", ns))
        shown.add(label)
        ids[node.findtext("svg:title", namespaces=ns)] = label
    shown_edges = {tuple(ids.get(end) for end in edge.findtext("svg:title", namespaces=ns).split("->"))
                   for edge in svg.iterfind(".//svg:g[@class='edge']", ns)}
    assert shown == set(rules), (
        f"docs/rulegraph.svg is not rendered from docs/rulegraph.dot (rules missing: "
        f"{sorted(set(rules) - shown)}, not in the dot file: {sorted(shown - set(rules))}): {REGENERATE}")
    assert shown_edges == edges, (
        f"docs/rulegraph.svg is not rendered from docs/rulegraph.dot (edges missing: "
        f"{sorted(edges - shown_edges)}, not in the dot file: {sorted(shown_edges - edges)}): {REGENERATE}")
