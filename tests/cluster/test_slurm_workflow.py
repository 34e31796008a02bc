"""The default workflow on a real (single-node) Slurm through `--profile profiles/slurm`: a Slurm job
cancelled mid-run, the rerun resuming from what finished, the outputs equal to a local run's, one
Slurm job per non-local job; and a job over its memory request killed by Slurm, retried with more."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
from workflow_copy import integration

pytestmark = pytest.mark.cluster

# Rules that run beside snakemake, never as Slurm jobs: the crawls (one polite crawler) and `all`.
LOCAL_RULES = {"all", "scrape_bokete", "download_bokete_images", "scrape_dodo", "download_dodo_images"}
# metrics.json keys that are wall-clock measurements, not results: they differ between any two runs.
TIMING_KEY = re.compile(r"(^|_)(seconds|per_s)(_|$)")


def slurm_args(*extra: str) -> list[str]:
    """`snakemake --profile profiles/slurm` plus what this node needs: no slurmdbd (status from
    squeue, no account to bill) and quick status checks for a test."""
    return ["--profile", "profiles/slurm", "--workflow-profile", "none",
            "--slurm-status-command", "squeue", "--slurm-no-account",
            "--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "10", *extra]


def slurm_jobs(node, workdir: Path) -> list[tuple[str, str, str]]:
    """(job id, rule, state) of every Slurm job run in `workdir`, finished ones too (MinJobAge)."""
    proc = node.run("squeue", "--states=all", "--noheader", "--format=%i|%Z|%k|%T")
    jobs = []
    for line in proc.stdout.splitlines():
        job_id, folder, comment, state = line.strip().split("|")
        match = re.fullmatch(r"rule_(\w+?)(_wildcards_.*)?", comment)
        if Path(folder) == workdir and match:
            jobs.append((job_id, match.group(1), state))
    return jobs


def walk_json(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            if not TIMING_KEY.search(key):
                yield from walk_json(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_json(item, f"{path}[{index}]")
    else:
        yield path, value


def json_values(root: Path) -> dict[str, object]:
    values = {}
    for file in sorted((root / "results").rglob("*.json")):
        name = str(file.relative_to(root))
        for path, value in walk_json(json.loads(file.read_text(encoding="utf-8"))):
            values[name + path] = value
    return values


def h5_datasets(root: Path) -> dict[str, np.ndarray]:
    datasets = {}
    for file in sorted((root / "results").rglob("*.h5")):
        with h5py.File(file, "r") as handle:
            def visit(name, item, file=file):
                if isinstance(item, h5py.Dataset):
                    datasets[f"{file.relative_to(root)}:{name}"] = item[()]
            handle.visititems(visit)
    return datasets


def assert_same_outputs(run: Path, reference: Path) -> None:
    values, expected = json_values(run), json_values(reference)
    assert values.keys() == expected.keys()
    differ = [key for key in expected if not _same(values[key], expected[key])]
    assert not differ, "JSON values differ: " + ", ".join(
        f"{key}: {values[key]!r} vs {expected[key]!r}" for key in differ[:10])
    arrays, expected_arrays = h5_datasets(run), h5_datasets(reference)
    assert arrays.keys() == expected_arrays.keys()
    assert arrays, "no HDF5 datasets found"
    for key, array in expected_arrays.items():
        other = arrays[key]
        assert other.dtype == array.dtype and other.shape == array.shape, key
        if array.dtype.kind == "f":
            assert np.array_equal(other, array, equal_nan=True), key
        else:
            assert np.array_equal(other, array), key


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny workflow run locally (profiles/default), the reference."""
    flow = integration.copy_workflow(tmp_path_factory.mktemp("local") / "neta")
    started = time.monotonic()
    flow.snakemake(timeout=1200)
    flow.seconds = time.monotonic() - started
    print(f"\nlocal run: {flow.seconds:.0f} s")
    return flow


@pytest.fixture(scope="module")
def cluster_run(slurm_node, tmp_path_factory):
    """The same tiny workflow through the Slurm profile, with a fault: one running Slurm job
    (train_hiragana) is cancelled with scancel, snakemake stops, and a rerun finishes the rest."""
    flow = integration.copy_workflow(tmp_path_factory.mktemp("cluster") / "neta")
    flow.planned = flow.planned_jobs()
    env = {**os.environ, **slurm_node.env}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    started = time.monotonic()
    first = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", *slurm_args("--retries", "0")],
        cwd=flow.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    flow.victim = None
    deadline = time.monotonic() + 900
    while flow.victim is None and time.monotonic() < deadline and first.poll() is None:
        running = [job for job in slurm_jobs(slurm_node, flow.root)
                   if job[1] == "train_hiragana" and job[2] == "RUNNING"]
        if running:
            flow.victim = running[0][0]
            time.sleep(2)
            slurm_node.run("scancel", flow.victim)
        time.sleep(1)
    flow.first_log, _ = first.communicate(timeout=900)
    flow.first_returncode = first.returncode
    flow.first_seconds = time.monotonic() - started
    flow.model_after_cancel = (flow.root / "results" / "hiragana" / "model.pt").exists()
    flow.completed_before = Counter(rule for _, rule, state in slurm_jobs(slurm_node, flow.root)
                                    if state == "COMPLETED")
    flow.remaining = flow.planned_jobs()
    resumed = time.monotonic()
    flow.proc = flow.snakemake(*slurm_args(), env=slurm_node.env, timeout=1500)
    flow.rerun_seconds = time.monotonic() - resumed
    print(f"\ncluster run: {flow.first_seconds:.0f} s until stopped by the cancel,"
          f" {flow.rerun_seconds:.0f} s to resume; jobs planned {sum(flow.planned.values())},"
          f" left after the cancel {sum(flow.remaining.values())}")
    return flow


def test_cancelled_job_stops_the_run_and_the_rerun_resumes(cluster_run):
    """scancel a running Slurm job: snakemake stops with an error naming it; the rerun
    (rerun-incomplete in the profile) plans only what did not finish."""
    flow = cluster_run
    assert flow.victim is not None, flow.first_log
    assert flow.first_returncode != 0, flow.first_log
    assert re.search(rf"SLURM-job '{flow.victim}' failed, SLURM status is: 'CANCELLED", flow.first_log)
    assert not flow.model_after_cancel
    assert 0 < sum(flow.remaining.values()) < sum(flow.planned.values()), flow.remaining
    assert flow.remaining.get("train_hiragana") == 1
    # What train_hiragana needs had finished before it ran; what else finished depends on timing.
    assert {"synthetic_etl", "convert_etl"} <= set(flow.completed_before), flow.completed_before
    for rule, count in flow.completed_before.items():
        if count == flow.planned[rule]:  # every job of the rule finished: none runs again
            assert rule not in flow.remaining, (rule, flow.remaining)


def test_slurm_run_equals_local_run(cluster_run, local_run, slurm_node):
    """The resumed cluster run: outputs equal the uninterrupted local run's (timings aside), and
    Slurm ran each non-local job once to completion (plus the one cancelled)."""
    assert_same_outputs(cluster_run.root, local_run.root)
    jobs = slurm_jobs(slurm_node, cluster_run.root)
    completed = Counter(rule for _, rule, state in jobs if state == "COMPLETED")
    expected = {rule: count for rule, count in cluster_run.planned.items() if rule not in LOCAL_RULES}
    assert completed == expected
    assert sum(expected.values()) >= 20
    others = [(job_id, rule, state) for job_id, rule, state in jobs if state != "COMPLETED"]
    assert others == [(cluster_run.victim, "train_hiragana", "CANCELLED")], others
    log = cluster_run.first_log + cluster_run.proc.stdout + cluster_run.proc.stderr
    for rule in LOCAL_RULES - {"all"}:
        assert re.search(rf"localrule {rule}:", log), rule
    # a second run on the finished tree submits nothing
    assert cluster_run.planned_jobs() == {}


def test_memory_exceeded_then_retried(slurm_node, tmp_path):
    """A job above its --mem is killed by Slurm (the reason in its Slurm log); the retry asks for more."""
    shutil.copy(Path(__file__).parent / "memory" / "Snakefile", tmp_path / "Snakefile")
    flow = integration.Workflow(tmp_path)
    proc = flow.snakemake("--executor", "slurm", "--jobs", "1", "--retries", "1",
                          "--slurm-status-command", "squeue", "--slurm-no-account",
                          "--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5",
                          "--slurm-keep-successful-logs", env=slurm_node.env, timeout=600)
    assert (tmp_path / "hog.txt").exists()
    log = proc.stdout + proc.stderr
    failed = re.search(r"SLURM-job '(\d+)' failed, SLURM status is: '(\w+)'", log)
    assert failed, log
    slurm_log = next((tmp_path / ".snakemake" / "slurm_logs" / "rule_hog").glob(f"{failed.group(1)}.log"))
    assert "Exceeded job memory limit" in slurm_log.read_text(encoding="utf-8", errors="replace")
    requests = re.findall(r"mem_mb=(\d+)", log)
    assert "250" in requests and "1500" in requests, requests
    states = [state for _, rule, state in slurm_jobs(slurm_node, tmp_path) if rule == "hog"]
    assert sorted(states) == ["COMPLETED", "FAILED"], states
