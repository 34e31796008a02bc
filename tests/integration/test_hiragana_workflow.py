"""The hiragana path through real snakemake runs on a tiny config."""

from __future__ import annotations

import json
import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.integration

HIRAGANA_RULES = {"synthetic_etl", "convert_etl", "train_hiragana", "evaluate_hiragana"}


def test_full_path_then_reruns_follow_edits(workflow_copy):
    flow = workflow_copy
    first = flow.planned_jobs()
    assert HIRAGANA_RULES <= set(first), first

    flow.snakemake()
    hiragana = flow.root / "results" / "hiragana"
    metrics = json.loads((hiragana / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 <= metrics["cnn"]["accuracy"] <= 1.0
    assert len(metrics["per_class"]) == 71
    for name in ("confusion.png", "filters.png", "errors.png", "model.pt"):
        assert (hiragana / name).stat().st_size > 0, name
    with h5py.File(hiragana / "etl_28.h5", "r") as handle:
        assert handle["images"].shape[1:] == (28, 28)
        writers, split = handle["writers"][()], handle["split"][()]
        assert not set(writers[split == 0]) & set(writers[split == 1])
        assert handle.attrs["stage"] == "convert_etl"
    for rule in HIRAGANA_RULES:
        assert (flow.root / "results" / "logs" / f"{rule}.log").exists(), rule
        assert (flow.root / "results" / "benchmarks" / f"{rule}.tsv").exists(), rule

    # A second run on a finished tree does nothing.
    assert flow.planned_jobs() == {}

    # Editing the ETL reader reruns convert and what it feeds, not the synthetic files.
    # (Snakemake ignores a bare `touch`: it compares the checksum of small inputs.)
    reader = flow.root / "src" / "neta" / "etl" / "reader.py"
    with reader.open("a", encoding="utf-8") as handle:
        handle.write("\n# edited by the test\n")
    assert flow.planned_jobs() == {"convert_etl": 1, "train_hiragana": 1, "evaluate_hiragana": 1, "all": 1}
    flow.snakemake()
    assert flow.planned_jobs() == {}

    # Changing a training hyperparameter reruns training and evaluation only.
    config = flow.config()
    config["hiragana"]["train"]["steps"] += 1
    flow.write_config(config)
    assert flow.planned_jobs() == {"train_hiragana": 1, "evaluate_hiragana": 1, "all": 1}


def test_bad_config_stops_before_any_job(workflow_copy):
    flow = workflow_copy
    config = flow.config()
    config["hiragana"]["train"]["stepz"] = 5
    flow.write_config(config)
    proc = flow.snakemake(check=False)
    assert proc.returncode != 0
    assert "stepz" in proc.stdout + proc.stderr
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
    from neta.etl.synth import synth_etl

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
