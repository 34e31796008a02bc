"""The hiragana path through real snakemake runs on a tiny config."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from neta.hiragana.checkpoint import load_models
from neta.hiragana.etl.synth import read_writer_hands

pytestmark = pytest.mark.integration


def test_bad_config_stops_before_any_job(workflow_copy):
    flow = workflow_copy
    config = flow.config()
    config["hiragana"]["train"]["stepz"] = 5
    flow.write_config(config)
    proc = flow.snakemake(check=False)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    # One line names the key and what is allowed; the schema is not dumped after it.
    assert "config key hiragana.train: Additional properties are not allowed ('stepz' was unexpected)" in output
    assert "Failed validating" not in output and "description" not in output
    assert not (flow.root / "results").exists()


def test_wrong_type_names_the_key(workflow_copy):
    flow = workflow_copy
    config = flow.config()
    config["hiragana"]["synth"]["writers"] = "many"
    flow.write_config(config)
    proc = flow.snakemake(check=False)
    assert proc.returncode != 0
    assert "writers" in proc.stdout + proc.stderr
    assert not (flow.root / "results").exists()


def test_real_etl_dir_is_used_instead_of_synthetic(workflow_copy, tmp_path):
    """hiragana.etl_dir replaces the synthetic rule: the DAG has no synthetic_etl job."""
    from neta.hiragana.etl.synth import synth_etl

    real_dir = tmp_path / "etl_real"
    synth_etl(real_dir, fmt="ETL8G", writers=3, seed=7)
    flow = workflow_copy
    config = flow.config()
    config["hiragana"]["etl_dir"] = str(real_dir)
    flow.write_config(config)
    planned = flow.planned_jobs()
    assert "synthetic_etl" not in planned
    flow.snakemake("results/hiragana/etl_28.h5")
    with h5py.File(flow.root / "results" / "hiragana" / "etl_28.h5", "r") as handle:
        assert np.unique(handle["writers"][()]).size == 3


def test_hiragana_eval_scores_any_etl_format(workflow_copy, tmp_path):
    """`neta hiragana eval` on the synthetic ETL8G files and on the same records re-encoded as ETL9G."""
    import subprocess
    import sys

    from neta.hiragana.etl.formats import get_format
    from neta.hiragana.etl.reader import list_etl_files, read_etl_file
    from neta.hiragana.etl.writer import build_records, write_etl_file

    flow = workflow_copy
    flow.snakemake("results/hiragana/model.pt")
    hiragana = flow.root / "results" / "hiragana"
    etl8g, etl9g = get_format("ETL8G"), get_format("ETL9G")
    as_etl9g = tmp_path / "etl9g"
    as_etl9g.mkdir()
    for number, path in enumerate(list_etl_files(hiragana / "etl_synthetic", etl8g), start=1):
        records = read_etl_file(path, etl8g)
        write_etl_file(
            as_etl9g / f"ETL9G_{number:02d}",
            etl9g,
            build_records(etl9g, records.codes, records.writers, records.images),
        )

    def evaluate(directory, fmt):
        proc = subprocess.run(
            [sys.executable, "-m", "neta", "hiragana", "eval", "--model", str(hiragana / "model.pt"),
             "--etl-dir", str(directory), "--format", fmt],
            capture_output=True, text=True, check=True,
        )
        return json.loads(proc.stdout)

    original = evaluate(hiragana / "etl_synthetic", "ETL8G")
    reencoded = evaluate(as_etl9g, "ETL9G")
    n_records = 6 * 71  # the tiny config's writers, every class
    assert original["n_test"] == reencoded["n_test"] == n_records
    assert original["cnn"] == reencoded["cnn"] and original["baseline"] == reencoded["baseline"]
    assert 1.0 / 71 < original["cnn"]["accuracy"] <= 1.0


def test_predict_reads_a_picture_as_the_readme_says(finished_workflow, tmp_path):
    """A character drawn with a thick pen on a large off-white page, run through `neta hiragana predict`."""
    from PIL import Image, ImageDraw, ImageFont

    from neta.fonts import ipaexgothic_path

    page = Image.new("RGB", (640, 420), (236, 232, 222))
    ImageDraw.Draw(page).text((380, 90), "あ", fill=(25, 25, 40), font=ImageFont.truetype(str(ipaexgothic_path()), 190),
                              stroke_width=3, stroke_fill=(25, 25, 40))
    photo = tmp_path / "photo_of_a.jpg"
    page.save(photo, quality=90)
    proc = subprocess.run([sys.executable, "-m", "neta", "hiragana", "predict", "--model", "results/hiragana/bn_cnn.pt",
                           str(photo)], cwd=finished_workflow.root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(finished_workflow.root / "src")})
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    result = json.loads(line)
    assert result["image"] == str(photo) and len(result["top5"]) == 5
    probabilities = [entry["p"] for entry in result["top5"]]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0


def test_the_default_run_scores_the_bn_cnn_beside_the_tutorial_cnn_on_every_path(finished_workflow):
    """hiragana.model: bn_cnn (the default) trains bn_cnn.pt and the report scores it on every test set."""
    metrics = json.loads((finished_workflow.root / "results" / "hiragana" / "metrics.json").read_text())
    assert metrics["recognizer"] == "bn_cnn"
    bn_cnn, tutorial = metrics["bn_cnn"], metrics["cnn"]
    for key in ("accuracy", "heldout_style_accuracy", "phantom_dakuten_rate", "mark_swap_rate"):
        assert key in bn_cnn and key in tutorial, key
    assert set(bn_cnn["layouts"]) == set(metrics["layouts"]) == {"test", "heldout_style"}
    for name, paths in metrics["layouts"].items():
        assert set(bn_cnn["layouts"][name]) == set(paths) >= {"ETL8B2_eval", "pictures_b64_predict"}
    # the ETL8G layout of the test writers is the converter's own test split: the same score, though
    # the BN-CNN reads them at its own size (etl_bn_cnn.h5 at convert time, the records framed once
    # for both sizes in the report)
    assert bn_cnn["layouts"]["test"]["ETL8G_eval"]["accuracy"] == bn_cnn["accuracy"]
    assert bn_cnn["layouts"]["heldout_style"]["ETL8G_eval"]["accuracy"] == bn_cnn["heldout_style_accuracy"]
    hiragana = finished_workflow.root / "results" / "hiragana"
    # every path is broken down by the hands of the synthetic writers (their font, or their family)
    hands = set(read_writer_hands(hiragana / "etl_heldout_styles").values())
    for layouts in (metrics["layouts"], bn_cnn["layouts"]):
        for path, scored in layouts["heldout_style"].items():
            by_hand = scored["by_hand"]
            assert set(by_hand) == hands, path
            right = sum(hand["accuracy"] * hand["n"] for hand in by_hand.values())
            assert sum(hand["n"] for hand in by_hand.values()) == scored["n"], path
            assert right / scored["n"] == pytest.approx(scored["accuracy"], abs=1e-5), path
    assert load_models(hiragana / "bn_cnn.pt").size == 56 and load_models(hiragana / "model.pt").size == 28
    with h5py.File(hiragana / "etl_bn_cnn.h5", "r") as fine, h5py.File(hiragana / "etl_28.h5", "r") as coarse:
        assert fine["images"].shape[1:] == (56, 56) and coarse["images"].shape[1:] == (28, 28)
        for name in ("labels", "writers", "split"):
            assert np.array_equal(fine[name][()], coarse[name][()]), name


def test_the_reproduction_setting_trains_the_tutorial_cnn_alone(workflow_copy):
    """hiragana.model: cnn plans no batch-normalised CNN, and the report then scores model.pt alone."""
    flow = workflow_copy
    jobs, text = flow.dry_run("--printshellcmds", "results/hiragana/metrics.json")
    assert jobs["train_hiragana_bn_cnn"] == 1 and "--bn-cnn-model results/hiragana/bn_cnn.pt" in text
    config = flow.config()
    config["hiragana"]["model"] = "cnn"
    flow.write_config(config)
    jobs, text = flow.dry_run("--printshellcmds", "results/hiragana/metrics.json")
    assert "train_hiragana_bn_cnn" not in jobs and jobs["train_hiragana"] == 1
    assert "--bn-cnn-model" not in text and "bn_cnn.pt" not in text and "etl_bn_cnn.h5" not in text
    assert not {"convert_etl_bn_cnn", "convert_etl_heldout_bn_cnn"} & set(jobs)
