"""Reruns follow edits, config changes and deletions, on one finished tiny workflow, as a user meets them."""

from __future__ import annotations

import functools
import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import h5py
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow" / "lib"))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from code_inputs import stage_code  # noqa: E402
from test_code_inputs import HANDLERS  # noqa: E402

# Which rules consume which: a rerun of a rule reruns these after it.
FEEDS = {
    "synthetic_etl": ["convert_etl", "convert_etl_bn_cnn", "relayout_hiragana_tests"],
    "convert_etl": ["train_hiragana", "evaluate_hiragana", "relayout_hiragana_tests", "data_statistics"],
    "convert_etl_bn_cnn": ["train_hiragana_bn_cnn", "evaluate_hiragana"],
    "train_hiragana": ["evaluate_hiragana"],
    "train_hiragana_bn_cnn": ["evaluate_hiragana"],
    "evaluate_hiragana": ["metric_tables"],
    "synthetic_etl_heldout": ["convert_etl_heldout", "convert_etl_heldout_bn_cnn", "relayout_hiragana_heldout"],
    "relayout_hiragana_tests": ["evaluate_hiragana"],
    "relayout_hiragana_heldout": ["evaluate_hiragana"],
    "convert_etl_heldout": ["evaluate_hiragana"],
    "convert_etl_heldout_bn_cnn": ["evaluate_hiragana"],
    "bokete_snapshot": ["scrape_bokete", "download_bokete_images"],
    "scrape_bokete": ["download_bokete_images", "prepare_captions", "data_statistics"],
    "download_bokete_images": ["extract_features", "prepare_captions", "data_statistics"],
    "extract_features": ["merge_features"],
    "merge_features": ["train_captioner", "evaluate_captioner"],
    "prepare_captions": ["train_captioner", "evaluate_captioner", "data_statistics", "report_gallery"],
    "train_captioner": ["evaluate_captioner", "data_statistics"],
    "evaluate_captioner": ["metric_tables", "report_gallery"],
    "dodo_snapshot": ["scrape_dodo", "download_dodo_images"],
    "scrape_dodo": ["encode_recipes", "download_dodo_images", "augment_pizza", "data_statistics"],
    "encode_recipes": ["augment_pizza", "train_cvae", "train_cvae_original", "train_gan", "train_cvae_gan",
                       "evaluate_pizza", "data_statistics"],
    "download_dodo_images": ["augment_pizza", "data_statistics"],
    "augment_pizza": ["train_cvae", "train_cvae_original", "train_gan", "train_cvae_gan", "train_ingredient_classifier",
                      "evaluate_pizza"],
    "train_cvae": ["evaluate_pizza", "progress_animations"],
    "train_cvae_original": ["evaluate_pizza", "progress_animations"],
    "train_gan": ["evaluate_pizza", "progress_animations"],
    "train_cvae_gan": ["evaluate_pizza", "progress_animations"],
    "train_ingredient_classifier": ["evaluate_pizza"],
    "evaluate_pizza": ["metric_tables"],
    "data_statistics": [],
    "metric_tables": [],
    "report_gallery": [],
    "progress_animations": [],
}
# `neta` words of each rule's command, to tell the traced processes apart.
COMMANDS = {
    ("etl", "synth"): "synthetic_etl",
    ("etl", "convert"): "convert_etl",
    ("etl", "convert-bn-cnn"): "convert_etl_bn_cnn",
    ("etl", "relayout"): "relayout_hiragana_tests",
    ("hiragana", "train"): "train_hiragana",
    ("hiragana", "train-bn-cnn"): "train_hiragana_bn_cnn",
    ("hiragana", "report"): "evaluate_hiragana",
    ("snapshot", "bokete"): "bokete_snapshot",
    ("scrape", "bokete"): "scrape_bokete",
    ("download", "bokete"): "download_bokete_images",
    ("snapshot", "dodo"): "dodo_snapshot",
    ("scrape", "dodo"): "scrape_dodo",
    ("pizza", "recipes"): "encode_recipes",
    ("download", "dodo"): "download_dodo_images",
    ("pizza", "augment"): "augment_pizza",
    ("pizza", "train-cvae"): "train_cvae",
    ("pizza", "train-cvae-original"): "train_cvae_original",
    ("pizza", "train-gan"): "train_gan",
    ("pizza", "train-cvae-gan"): "train_cvae_gan",
    ("pizza", "classifier"): "train_ingredient_classifier",
    ("pizza", "evaluate"): "evaluate_pizza",
    ("captioner", "prepare"): "prepare_captions",
    ("captioner", "train"): "train_captioner",
    ("captioner", "evaluate"): "evaluate_captioner",
    ("report", "data-statistics"): "data_statistics",
    ("report", "metric-tables"): "metric_tables",
    ("report", "gallery"): "report_gallery",
    ("report", "animations"): "progress_animations",
}
OUTPUTS = {
    "results/hiragana/etl_synthetic": "synthetic_etl",
    "results/hiragana/etl_28.h5": "convert_etl",
    "results/hiragana/etl_bn_cnn.h5": "convert_etl_bn_cnn",
    "results/hiragana/model.pt": "train_hiragana",
    "results/hiragana/bn_cnn.pt": "train_hiragana_bn_cnn",
    "results/hiragana/metrics.json": "evaluate_hiragana",
    "results/hiragana/confusion.png": "evaluate_hiragana",
    "results/hiragana/etl_heldout_styles_28.h5": "convert_etl_heldout",
    "results/hiragana/etl_heldout_styles_bn_cnn.h5": "convert_etl_heldout_bn_cnn",
    "results/hiragana/layouts_test": "relayout_hiragana_tests",
    "results/hiragana/layouts_heldout_styles": "relayout_hiragana_heldout",
    "results/bokete/snapshot": "bokete_snapshot",
    "results/bokete/bokes.csv": "scrape_bokete",
    "results/bokete/images/manifest.csv": "download_bokete_images",
    "results/bokete/images": "download_bokete_images",
    "results/bokete/features.h5": "merge_features",
    "results/pizza/snapshot": "dodo_snapshot",
    "results/pizza/menu.csv": "scrape_dodo",
    "results/pizza/recipes.json": "encode_recipes",
    "results/pizza/images": "download_dodo_images",
    "results/pizza/images/manifest.csv": "download_dodo_images",
    "results/pizza/augmented.h5": "augment_pizza",
    "results/pizza/gan.pt": "train_gan",
    "results/pizza/cvae_original.pt": "train_cvae_original",
    "results/pizza/classifier.pt": "train_ingredient_classifier",
    "results/pizza/metrics.json": "evaluate_pizza",
    "results/bokete/captions.csv": "prepare_captions",
    "results/bokete/captioner.pt": "train_captioner",
    "results/bokete/metrics.json": "evaluate_captioner",
    "results/report/data_statistics.json": "data_statistics",
    "results/report/pizza_metrics.html": "metric_tables",
    "results/report/boke_gallery.html": "report_gallery",
    "results/report/pizza_progress.html": "progress_animations",
}


# Rules of more than one job (wildcards): the CVAE's two conditionings.
JOBS = {"train_cvae": 2}
# Rules whose inputs are temp() files of another: rerunning them reruns that one too.
REMAKES_TEMP_INPUTS = {"merge_features": "extract_features"}


def with_downstream(*rules: str) -> dict[str, int]:
    todo, found = list(rules), set()
    while todo:
        rule = todo.pop()
        if rule not in found:
            found.add(rule)
            todo.extend(FEEDS[rule])
            todo.extend([REMAKES_TEMP_INPUTS[rule]] if rule in REMAKES_TEMP_INPUTS else [])
    return {rule: JOBS.get(rule, 1) for rule in found} | {"all": 1}


def feeds_closure(rule: str) -> set[str]:
    todo, found = list(FEEDS[rule]), set()
    while todo:
        if (next_rule := todo.pop()) not in found:
            found.add(next_rule)
            todo.extend(FEEDS[next_rule])
    return found


def rule_of(argv: list[str]) -> str:
    words = tuple(word for word in argv if not word.startswith("-"))
    if words[:2] == ("etl", "synth") and "--heldout-styles" in argv:
        return "synthetic_etl_heldout"
    if words[:2] in (("etl", "convert"), ("etl", "convert-bn-cnn")) and any("etl_heldout_styles" in word
                                                                           for word in argv):
        return COMMANDS[words[:2]].replace("convert_etl", "convert_etl_heldout")
    if words[:2] == ("etl", "relayout") and "--writers-of" not in argv:
        return "relayout_hiragana_heldout"
    if words[0] == "features":
        return "merge_features" if "--merge" in argv else "extract_features"
    return COMMANDS[words[:2]]


def code_of(flow, rule: str) -> frozenset[str]:
    return _code_of(flow.root, rule)


@functools.cache  # the import graph of a copy's src is walked once a rule: the tests edit no import
def _code_of(root: Path, rule: str) -> frozenset[str]:
    handler, data = HANDLERS[rule]
    return frozenset(stage_code(root / "src", [handler], data))


def test_the_run_made_every_output_and_a_second_run_does_nothing(finished_workflow):
    flow = finished_workflow
    for output in OUTPUTS:
        assert (flow.root / output).exists(), output
    metrics = json.loads((flow.root / "results/hiragana/metrics.json").read_text(encoding="utf-8"))
    # 200 steps on 4 training writers: far from trained, but far above the 1/71 of guessing, and the
    # CNN ahead of the softmax baseline as in the original.
    assert metrics["cnn"]["accuracy"] > 0.3, metrics["cnn"]
    assert metrics["cnn"]["accuracy"] > metrics["baseline"]["accuracy"] + 0.2, metrics
    assert len(metrics["per_class"]) == 71
    # every writer set in every layout, through eval and predict, with its phantom-dakuten rate
    for name in ("test", "heldout_style"):
        paths = metrics["layouts"][name]
        assert set(paths) == {"ETL8G_eval", "ETL8B2_eval", "pictures_b64_predict", "pictures_g128_predict",
                              "pictures_g64_predict", "pictures_dust128_predict", "pictures_ruled128_predict",
                              "pictures_neighbour128_predict"}, paths
        for scored in paths.values():
            assert scored["n"] > 0 and 0 <= scored["accuracy"] <= 1 and 0 <= scored["phantom_dakuten_rate"] <= 1
        # a B-type record and its picture are one image after the one normalisation
        assert paths["ETL8B2_eval"]["accuracy"] == paths["pictures_b64_predict"]["accuracy"]
        assert paths["ETL8G_eval"]["accuracy"] == paths["pictures_g128_predict"]["accuracy"]
    assert 0 <= metrics["cnn"]["phantom_dakuten_rate"] <= 1
    with h5py.File(flow.root / "results/hiragana/etl_28.h5", "r") as handle:
        writers, split = handle["writers"][()], handle["split"][()]
        assert not set(writers[split == 0]) & set(writers[split == 1])
    for rule in FEEDS:  # a rule with a wildcard logs one file a job in a folder of its name
        for kind, suffix in (("logs", "log"), ("benchmarks", "tsv")):
            folder = flow.root / "results" / kind
            assert (folder / f"{rule}.{suffix}").exists() or list((folder / rule).glob(f"*.{suffix}")), (rule, kind)
    assert flow.planned_jobs() == {}


def test_every_job_ran_only_code_its_rule_tracks(finished_workflow):
    flow = finished_workflow
    traces = [json.loads(line) for line in flow.trace.read_text(encoding="utf-8").splitlines()]
    seen = set()
    for trace in traces:
        rule = rule_of(trace["argv"])
        seen.add(rule)
        untracked = set(trace["files"]) - code_of(flow, rule)
        assert not untracked, f"{rule} ran files its code params miss: {sorted(untracked)}"
    assert seen == set(FEEDS)


def system_of(rule: str) -> str:
    """hiragana, bokete (with the features and the captioner), pizza or report: the folder of its outputs."""
    folders = {output.split("/")[1] for output, maker in OUTPUTS.items() if maker == rule}
    return folders.pop() if folders else system_of(next(iter(FEEDS[rule])))  # a rule of temp() outputs only


def edit_groups() -> list[tuple[str, ...]]:
    """The rules in groups of one a system: the systems share no rule but the report's, so one dry run
    checks an edit in each at once (a dry run costs ~3 s, and there are ~35 rules)."""
    by_system: dict[str, list[str]] = {}
    for rule in sorted(FEEDS):
        by_system.setdefault(system_of(rule), []).append(rule)
    longest = max(len(rules) for rules in by_system.values())
    return [tuple(rules[i] for rules in by_system.values() if i < len(rules)) for i in range(longest)]


def test_edit_groups_cover_every_rule_once():
    grouped = [rule for group in edit_groups() for rule in group]
    assert sorted(grouped) == sorted(FEEDS)
    assert all(len({system_of(rule) for rule in group}) == len(group) for group in edit_groups())


def file_only_this_rule_runs(flow, rule: str) -> Path:
    """A file this rule runs and no rule upstream of it does (a rule running the very same code, as
    the shard and merge jobs of one command do, is edited together with it)."""
    own = code_of(flow, rule)
    upstream = {other for other in FEEDS if other != rule and rule in feeds_closure(other)}
    candidates = sorted(own - set().union(*(code_of(flow, other) for other in upstream
                                            if code_of(flow, other) != own)))
    return Path(candidates[-1])


@pytest.mark.parametrize("rules", edit_groups(), ids=" + ".join)
def test_editing_a_file_of_a_rule_reruns_it_and_what_it_feeds_only(finished_workflow, rules):
    flow = finished_workflow
    paths = sorted({file_only_this_rule_runs(flow, rule) for rule in rules})
    readers = [other for other in FEEDS if any(str(path) in code_of(flow, other) for path in paths)]
    originals = {path: path.read_bytes() for path in paths}
    try:
        for path, original in originals.items():
            path.write_bytes(original + b"\n# edited by the test\n")
        jobs, text = flow.dry_run()
        assert jobs == with_downstream(*readers), (rules, paths)
        # The reason of a rerun names the file that changed; Snakemake gives a job one reason, and
        # "input files updated" wins when a job upstream of it reruns too.
        named = [path for path in paths
                 if any(str(path) in code_of(flow, rule) and not any(rule in feeds_closure(other) for other in readers)
                        for rule in readers)]
        assert named, paths  # the group's most upstream edit, at least, is seen first-hand
        for path in named:
            assert f"'{path.relative_to(flow.root)} " in text, (path, text)
    finally:
        for path, original in originals.items():
            path.write_bytes(original)  # the same bytes with a new time


def test_undone_edits_leave_nothing_to_do(finished_workflow):
    """Every code input of every rule edited and the edit undone (the same bytes, a new time): Snakemake
    compares the code inputs' checksums, not their times, so nothing is to do. One dry run checks them all."""
    flow = finished_workflow
    originals = {Path(path): Path(path).read_bytes()
                 for path in sorted(set().union(*(code_of(flow, rule) for rule in FEEDS)))}
    newest_output = max((flow.root / output).stat().st_mtime for output in OUTPUTS)
    try:
        for path, original in originals.items():
            path.write_bytes(original + b"\n# edited by the test\n")
    finally:
        for path, original in originals.items():
            path.write_bytes(original)
    # By their times alone every rule would rerun: each code input is newer than every output.
    assert min(path.stat().st_mtime for path in originals) > newest_output
    assert flow.planned_jobs() == {}


def test_editing_a_module_no_stage_imports_reruns_nothing(finished_workflow):
    flow = finished_workflow
    scratch = flow.root / "src" / "neta" / "scratch_module.py"  # a module of the package no stage imports
    scratch.write_text('"""Not imported by any stage."""\n', encoding="utf-8")
    try:
        everything = set().union(*(code_of(flow, rule) for rule in FEEDS))
        assert str(scratch) not in everything
        assert flow.planned_jobs() == {}
        scratch.write_text('"""Not imported by any stage, edited."""\n', encoding="utf-8")
        assert flow.planned_jobs() == {}
    finally:
        scratch.unlink()


@pytest.mark.parametrize("key, value, rerun", [
    ("hiragana.train.steps", 41, ["train_hiragana"]),
    ("hiragana.synth.writers", 7, ["synthetic_etl", "synthetic_etl_heldout"]),
    ("hiragana.augment.enabled", False, ["train_hiragana", "train_hiragana_bn_cnn"]),
    ("hiragana.bn_cnn.steps", 41, ["train_hiragana_bn_cnn"]),
    ("hiragana.bn_cnn.stride", 1, ["train_hiragana_bn_cnn"]),
    # each size is read by the converts of its own model (and the BN-CNN scales its augmentation by both)
    ("hiragana.bn_cnn.size", 64, ["convert_etl_bn_cnn", "convert_etl_heldout_bn_cnn", "train_hiragana_bn_cnn"]),
    ("hiragana.size", 32, ["convert_etl", "convert_etl_heldout", "train_hiragana_bn_cnn"]),
    ("hiragana.split.test_fraction", 0.5, ["convert_etl", "convert_etl_heldout", "convert_etl_bn_cnn",
                                           "convert_etl_heldout_bn_cnn"]),
    ("bokete.min_stars", 10, ["scrape_bokete"]),
    ("features.batch_size", 4, ["extract_features"]),
    ("bokete.contact", "Pat O'Neil <pat@example.org>; touch INJECTED", ["scrape_bokete", "download_bokete_images"]),
    ("pizza.augment.size", 64, ["augment_pizza"]),
    ("pizza.recipes.slots", 10, ["encode_recipes"]),
    ("captioner.split.test_fraction", 0.3, ["prepare_captions"]),
    ("captioner.model.hidden_size", 24, ["train_captioner"]),
    ("captioner.decode.beam", 3, ["evaluate_captioner"]),
    ("captioner.star_weighting", "log", ["train_captioner"]),
    ("captioner.train.select", "val_loss", ["train_captioner"]),
    ("pizza.models.cvae.epochs", 2, ["train_cvae"]),
    ("pizza.models.gan_width", 3, ["train_gan"]),
    ("pizza.models.discriminator_width", 3, ["train_cvae_gan"]),
    ("pizza.models.latent", 3, ["train_cvae", "train_cvae_gan"]),
    ("pizza.models.original_dense", 32, ["train_cvae_original"]),
    ("pizza.models.holdout_pizzas", 2, ["train_cvae", "train_cvae_original", "train_gan", "train_cvae_gan",
                                        "evaluate_pizza"]),
    ("pizza.models.samples_per_recipe", 3, ["evaluate_pizza"]),
    ("pizza.models.kid_images", 50, ["evaluate_pizza"]),
    ("pizza.models.holdout_every", 5, ["train_cvae", "train_cvae_original", "train_gan", "train_cvae_gan",
                                       "train_ingredient_classifier"]),
    ("seed", 1, ["synthetic_etl", "synthetic_etl_heldout", "convert_etl_heldout", "bokete_snapshot", "convert_etl",
                 "convert_etl_bn_cnn", "convert_etl_heldout_bn_cnn",
                 "train_hiragana", "train_hiragana_bn_cnn", "dodo_snapshot",
                 "prepare_captions", "train_captioner", "evaluate_captioner", "train_cvae", "train_cvae_original",
                 "train_gan", "train_cvae_gan", "train_ingredient_classifier", "evaluate_pizza"]),
])
def test_a_config_change_reruns_exactly_the_rules_that_read_it(finished_workflow, key, value, rerun):
    flow = finished_workflow
    saved = flow.config()
    config = json.loads(json.dumps(saved))
    node = config
    *parents, name = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[name] = value
    try:
        flow.write_config(config)
        assert flow.planned_jobs() == with_downstream(*rerun)
    finally:
        flow.write_config(saved)


def commands_of(text: str) -> list[list[str]]:
    """The argv of every command a `--dry-run --printshellcmds` printed."""
    return [shlex.split(line.removeprefix("Shell command: ")) for line in text.splitlines()
            if line.startswith("Shell command: ") and line != "Shell command: None"]


def json_option(argv: list[str], option: str) -> dict:
    return json.loads(argv[argv.index(option) + 1])


# Settings the schema marks speed_only: how fast a job runs, never what it writes. Each as a
# `--config` override, the rule that reads it, that rule's output, and the value in its command.
SPEED_ONLY = [
    ("bokete={download: {workers: 2}}", "download_bokete_images", "results/bokete/images/manifest.csv",
     {"bokete": {"download": {"workers": 2}}}),
    ("pizza={download: {workers: 1}}", "download_dodo_images", "results/pizza/images/manifest.csv",
     {"pizza": {"download": {"workers": 1}}}),
    ("features={workers: 1}", "extract_features", "results/bokete/features_shards/0.h5", {"features": {"workers": 1}}),
    ("bokete={rate_limit: 2.5, loopback_rate_limit: 50}", "scrape_bokete", "results/bokete/bokes.csv",
     {"bokete": {"rate_limit": 2.5, "loopback_rate_limit": 50}}),
]


@pytest.mark.parametrize("override, rule, target, given", SPEED_ONLY, ids=[case[1] for case in SPEED_ONLY])
def test_a_speed_only_setting_reruns_nothing_and_reaches_its_command(finished_workflow, override, rule, target,
                                                                     given):
    flow = finished_workflow
    assert flow.planned_jobs("--config", override) == {}
    # the job, when it runs, still gets the value (apart from its tracked --settings)
    jobs, text = flow.dry_run("--printshellcmds", target, "--config", override, "--forcerun", rule)
    assert jobs == {rule: 1}, text
    (argv,) = commands_of(text)
    speed, tracked = json_option(argv, "--speed-settings"), json_option(argv, "--settings")
    for path, value in leaves(given):
        assert lookup(speed, path) == value, (path, speed)
        assert lookup(tracked, path) is None, (path, tracked)


def leaves(tree: dict, path: tuple = ()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key), value


def lookup(tree: dict, path: tuple):
    """The value at `path` of a nested dict, None where there is none."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def test_a_nested_config_override_is_typed_and_merged_key_by_key(finished_workflow):
    """`--config 'hiragana={train: {steps: 100}}'`: Snakemake reads the nested values as strings ('100');
    the workflow types them by the schema, and the override keeps the keys it does not name."""
    flow = finished_workflow
    override = "hiragana={train: {steps: 100, init_std: 0.05}, augment: {enabled: false}}"
    jobs, text = flow.dry_run("--printshellcmds", "--config", override)
    # both CNNs train on the augmented batches
    assert jobs == with_downstream("train_hiragana", "train_hiragana_bn_cnn"), text
    (train,) = [argv for argv in commands_of(text) if argv[:3] == ["neta", "hiragana", "train"]]
    hiragana = json_option(train, "--settings")["hiragana"]
    tiny = flow.config()["hiragana"]
    assert hiragana["train"]["steps"] == 100 and hiragana["train"]["init_std"] == 0.05
    assert hiragana["augment"]["enabled"] is False
    assert hiragana["train"]["batch_size"] == tiny["train"]["batch_size"]  # the tiny run's, kept
    assert hiragana["train"]["lr_schedule"] == tiny["train"]["lr_schedule"]
    assert hiragana["baseline"] == tiny["baseline"]
    proc = flow.snakemake("--dry-run", "--config", "hiragana={train: {steps: many}}", check=False)
    assert proc.returncode != 0
    assert "config key hiragana.train.steps: 'many' is not of type 'integer'" in proc.stdout + proc.stderr


def test_a_jobs_printout_lists_its_data_not_its_source_files(finished_workflow):
    """The code a rule runs is tracked as params (one a file, with its hash), not as inputs: the job
    printouts list the data a job reads, in lines a terminal can show."""
    flow = finished_workflow
    jobs, text = flow.dry_run("--forceall")
    assert sum(jobs.values()) > 30
    # each job's printout follows a [timestamp] line and ends at the next one or a blank line
    blocks = [block.lstrip("\n").split("\n\n")[0].splitlines()
              for block in re.split(r"^\[\w{3} \w{3} .+\]$", text, flags=re.M)[1:]]
    # rule all's lists every output of the workflow
    printouts = [lines for lines in blocks if lines and lines[0] not in ("rule all:", "localrule all:")]
    assert len(printouts) == sum(jobs.values()) - 1, blocks
    for lines in printouts:
        assert not [line for line in lines if "src/neta" in line], lines
        assert max(len(line) for line in lines) < 400, lines


def test_a_config_value_never_reaches_the_shell_unquoted(finished_workflow):
    flow = finished_workflow
    saved = flow.config()
    config = json.loads(json.dumps(saved))
    config["bokete"]["contact"] = "Pat O'Neil <pat@example.org>; touch INJECTED"
    config["bokete"]["start_paths"] = ["/boke/hot", "/boke/legend$(touch INJECTED2)"]
    # The finished run is put back afterwards as it was rather than rebuilt: rerunning all the crawl
    # feeds took a minute.
    kept = ["results/bokete/bokes.csv", "results/logs/scrape_bokete.log", "results/benchmarks/scrape_bokete.tsv",
            ".snakemake/metadata"]
    with flow.kept_as_it_was(*kept):
        try:
            flow.write_config(config)
            flow.snakemake("--forcerun", "scrape_bokete", "results/bokete/bokes.csv")
            assert not (flow.root / "INJECTED").exists() and not (flow.root / "INJECTED2").exists()
            log = (flow.root / "results/logs/scrape_bokete.log").read_text(encoding="utf-8")
            assert "Pat O'Neil <pat@example.org>; touch INJECTED" in log
        finally:
            flow.write_config(saved)
    assert flow.planned_jobs() == {}


def deletion_groups() -> list[tuple[str, ...]]:
    """The outputs in groups of one a system (hiragana, bokete, pizza, report): the systems share no
    rule but the report's, so one dry run checks a deletion in each (a dry run costs ~3 s, and there
    are ~40 outputs)."""
    by_system: dict[str, list[str]] = {}
    for output in sorted(OUTPUTS):
        by_system.setdefault(output.split("/")[1], []).append(output)
    longest = max(len(outputs) for outputs in by_system.values())
    return [tuple(outputs[i] for outputs in by_system.values() if i < len(outputs)) for i in range(longest)]


def test_deletion_groups_cover_every_output_once():
    grouped = [output for group in deletion_groups() for output in group]
    assert sorted(grouped) == sorted(OUTPUTS)
    assert all(len({output.split("/")[1] for output in group}) == len(group) for group in deletion_groups())


@pytest.mark.parametrize("outputs", deletion_groups(), ids=" + ".join)
def test_deleting_an_output_reruns_its_rule_and_what_it_feeds(finished_workflow, outputs):
    """`rm FILE; make run` (make run is `snakemake --cores 2` after clearing a stale lock), for one
    output of each system at once."""
    flow = finished_workflow
    aside = flow.root.parent / "aside"
    expected: dict[str, int] = {}
    for output in outputs:
        expected |= with_downstream(OUTPUTS[output])
    moved = []
    aside.mkdir()
    try:
        for i, output in enumerate(outputs):
            shutil.move(flow.root / output, aside / str(i))
            moved.append((aside / str(i), flow.root / output))
        assert flow.planned_jobs() == expected
    finally:
        for kept, path in moved:
            shutil.move(kept, path)  # a rename keeps the times
        shutil.rmtree(aside, ignore_errors=True)


def test_outputs_put_back_leave_nothing_to_do(finished_workflow):
    """Every output moved away and put back (a rename keeps its times): nothing is to do. One dry run
    checks them all."""
    flow = finished_workflow
    aside = flow.root.parent / "aside"
    for output in sorted(OUTPUTS):
        path = flow.root / output
        mtime = path.stat().st_mtime_ns
        shutil.move(path, aside)
        shutil.move(aside, path)
        assert path.stat().st_mtime_ns == mtime, output
    assert flow.planned_jobs() == {}


def test_a_deleted_intermediate_is_rebuilt_by_a_plain_run(finished_workflow):
    flow = finished_workflow
    # (one that feeds no training job, so the run takes seconds)
    (flow.root / "results/hiragana/etl_heldout_styles_28.h5").unlink()
    flow.snakemake()
    assert (flow.root / "results/hiragana/etl_heldout_styles_28.h5").is_file()
    assert flow.planned_jobs() == {}

