"""`snakemake --report` on the finished tiny run, as the README tells users to make it: every tagged picture
and table inside, under its category, with its caption."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

GENERATOR_NAMES = (("cvae_a", "CVAE-A"), ("cvae_b", "CVAE-B"),
                   ("cvae_original", "original CVAE (latent 512, dense 1024)"), ("gan", "DCGAN"),
                   ("cvae_gan", "CVAE-GAN"))
# Every output the workflow tags with report(): path -> (category, subcategory, words of its caption).
TAGGED = {
    "results/hiragana/confusion.png": ("Hiragana", "Evaluation", "Confusion matrix of the hiragana recognizer"),
    "results/hiragana/errors.png": ("Hiragana", "Evaluation", "Misclassified test images"),
    "results/hiragana/filters.png": ("Hiragana", "Model", "the 32 first-layer 5×5 filters"),
    "results/report/hiragana_metrics.html": ("Hiragana", "Evaluation", "test accuracy of the tutorial CNN"),
    "results/report/hiragana_data.png": ("Hiragana", "Data", "how many samples each of the hiragana classes"),
    "results/bokete/loss.png": ("Boke", "Training", "Training of the boke captioner"),
    "results/report/boke_gallery.html": ("Boke", "Evaluation", "top-5 beam-search bokes (beam 4"),
    "results/report/boke_metrics.html": ("Boke", "Evaluation", "BLEU-1..4 and CIDEr-D"),
    "results/report/bokete_data.png": ("Boke", "Data", "What the bokete crawl found"),
    **{f"results/pizza/{model}_loss.png": ("Pizza", "Loss curves", f"Training curves of the {name} pizza")
       for model, name in GENERATOR_NAMES},
    **{f"results/pizza/{model}_progress.gif": ("Pizza", "Training progress", f"How the samples of the {name} pizza")
       for model, name in GENERATOR_NAMES},
    "results/pizza/samples/reconstructions.png": ("Pizza", "Samples", "each CVAE's reconstruction"),
    "results/pizza/samples/style_transfer.png": ("Pizza", "Samples", "decoded with every pizza's recipe"),
    "results/pizza/samples/one_ingredient.png": ("Pizza", "Samples", "One-ingredient pizzas"),
    "results/pizza/samples/gan_samples.png": ("Pizza", "Samples", "Samples of the adversarially trained models"),
    "results/report/pizza_metrics.html": ("Pizza", "Evaluation", "recipe fidelity"),
    "results/report/pizza_data.png": ("Pizza", "Data", "on how many pizzas each ingredient is"),
    "results/report/pizza_progress.html": ("Pizza", "Training progress", "training animations side by side"),
}
MIME = {".png": "image/png", ".gif": "image/gif", ".html": "text/html"}


def make_report(flow, target: str) -> Path:
    """`snakemake --report TARGET` in the workflow's folder, the README's command as written."""
    snakemake = Path(sys.executable).parent / "snakemake"
    env = {**os.environ, "PATH": os.pathsep.join([str(snakemake.parent), os.environ.get("PATH", "")])}
    proc = subprocess.run([str(snakemake), "--report", target], cwd=flow.root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = flow.root / target
    assert path.is_file() and path.stat().st_size > 0, target
    return path


def report_variable(page: str, name: str):
    """The JSON value of ``var NAME = …`` in the report's own <script> (the last such line: libraries come first)."""
    for match in reversed(list(re.finditer(rf"var {name} = ", page))):
        try:
            return json.JSONDecoder().raw_decode(page, match.end())[0]
        except json.JSONDecodeError:
            continue
    raise AssertionError(f"no `var {name}` in the report")


def check_entries(flow, results: dict, categories: dict, data_of) -> None:
    assert set(categories) == {"Hiragana", "Boke", "Pizza"}
    placed = {path: (category, subcategory)
              for category, subcategories in categories.items()
              for subcategory, paths in subcategories.items() for path in paths}
    # Exactly the tagged outputs: a tagged file missing from the report, or an untagged one, fails here.
    assert set(results) == set(TAGGED), (sorted(set(TAGGED) - set(results)), sorted(set(results) - set(TAGGED)))
    for path, (category, subcategory, words) in TAGGED.items():
        entry = results[path]
        assert placed[path] == (category, subcategory), path
        assert entry["mime_type"] == MIME[Path(path).suffix], path
        assert entry["labels"], path  # a label a file: the report lists them in a table, not as paths
        caption = " ".join(entry["caption"].replace("&#x27;", "'").split())
        assert words in caption, (path, caption)
        assert data_of(entry) == (flow.root / path).read_bytes(), path


def test_the_html_report_embeds_every_tagged_result_with_its_caption(finished_workflow):
    flow = finished_workflow
    page = make_report(flow, "results/report.html").read_text(encoding="utf-8")
    results, categories = report_variable(page, "results"), report_variable(page, "categories")

    def embedded(entry):
        uri = entry["data_uri"]
        assert uri.startswith(f"data:{entry['mime_type']};"), uri[:80]
        return base64.b64decode(uri.split("base64,", 1)[1])

    check_entries(flow, results, categories, embedded)
    description = report_variable(page, "workflow_desc")
    assert "SYNTHETIC" in description and "OFFLINE" in description  # the default run says what is a stand-in
    # The metric tables are self-contained pages of escaped tables.
    tables = embedded(results["results/report/hiragana_metrics.html"]).decode("utf-8")
    assert "<table>" in tables and "accuracy" in tables and "<script" not in tables and "<link" not in tables
    gallery = embedded(results["results/report/boke_gallery.html"]).decode("utf-8")
    assert 'src="data:image/jpeg;base64,' in gallery and 'src="images/' not in gallery


def test_the_zip_report_holds_every_tagged_file(finished_workflow):
    flow = finished_workflow
    archive = zipfile.ZipFile(make_report(flow, "results/report.zip"))
    names = archive.namelist()
    assert "report/report.html" in names
    page = archive.read("report/report.html").decode("utf-8")
    results, categories = report_variable(page, "results"), report_variable(page, "categories")

    def member(entry):
        # the page links each result by its path inside the archive's report/ folder
        return archive.read(f"report/{entry['data_uri']}")

    check_entries(flow, results, categories, member)
    files = sorted(Path(name).name for name in names if name.startswith("report/data/raw/"))
    assert files == sorted(Path(path).name for path in TAGGED)


def test_a_missing_tagged_output_stops_the_report(finished_workflow):
    flow = finished_workflow
    path = flow.root / "results/pizza/cvae_b_progress.gif"
    aside = flow.root.parent / "aside_progress.gif"
    shutil.move(path, aside)
    try:
        snakemake = Path(sys.executable).parent / "snakemake"
        proc = subprocess.run([str(snakemake), "--report", "results/broken_report.html"], cwd=flow.root,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode != 0
        assert "cvae_b_progress.gif" in proc.stdout + proc.stderr
        assert not (flow.root / "results/broken_report.html").exists()
    finally:
        shutil.move(aside, path)  # a rename keeps the time: the tree is finished again
