"""A workflow killed hard mid-training: `make run` clears the stale lock and finishes; no temp is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLEAR_STALE_LOCK = REPO / "workflow" / "lib" / "clear_stale_lock.py"
UNREADABLE_ARTIFACTS = REPO / "workflow" / "lib" / "unreadable_artifacts.py"


def make_run(flow, *targets: str) -> subprocess.CompletedProcess:
    """What `make run` runs (see the Makefile), in the workflow copy: for ``targets`` only, since the whole
    tiny run takes minutes and the finished_workflow fixture already makes it once. The run's output
    with the set-aside lines first."""
    subprocess.run([sys.executable, str(CLEAR_STALE_LOCK)], cwd=flow.root, check=True)
    aside = subprocess.run([sys.executable, str(UNREADABLE_ARTIFACTS)], cwd=flow.root, check=True,
                           capture_output=True, text=True)
    run = flow.snakemake(*targets)
    run.stderr = aside.stderr + run.stderr
    return run


def test_make_run_runs_what_make_run_runs():
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[-1] for line in recipe.splitlines()[1:]] == [
        "workflow/lib/clear_stale_lock.py", "workflow/lib/unreadable_artifacts.py", "$(CORES)"]


def test_a_damaged_intermediate_is_set_aside_and_rebuilt_by_make_run(finished_workflow):
    """An HDF5 file cut in half (one that feeds no training job, so the rebuild takes seconds): `make run`
    says which file does not read, rebuilds it and what reads it, with no manual step."""
    flow = finished_workflow
    damaged = flow.root / "results/hiragana/etl_heldout_styles_28.h5"
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    run = make_run(flow)
    assert f"{damaged.relative_to(flow.root)} does not read" in run.stderr, run.stderr
    with h5py.File(damaged, "r") as handle:
        assert handle["images"].shape[0] > 0
    assert damaged.with_name(damaged.name + ".unreadable").stat().st_size == len(whole) // 2
    assert "evaluate_hiragana" in run.stderr + run.stdout  # what reads it was run again
    assert flow.planned_jobs() == {}


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sigkill_mid_training_then_make_run_finishes(workflow_copy):
    flow = workflow_copy
    tiny = flow.config()
    slow = flow.config()
    slow["hiragana"]["train"]["steps"] = 1_000_000
    flow.write_config(slow)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    run = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", "results/hiragana/model.pt"],
                           cwd=flow.root, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = flow.root / "results" / "logs" / "train_hiragana.log"
    try:
        wait_for(lambda: log.exists() and "parameters" in log.read_text(encoding="utf-8", errors="replace"), 300,
                 "training to start")
        time.sleep(2)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert any((flow.root / ".snakemake" / "locks").iterdir()), "the kill should have left the lock"
    assert not (flow.root / "results" / "hiragana" / "model.pt").exists()

    # While a snakemake works in the directory, its lock is left alone.
    stand_in = flow.root.parent / "bin" / "snakemake"  # looks like `python …/bin/snakemake` to ps
    stand_in.parent.mkdir()
    stand_in.write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    holder = subprocess.Popen([sys.executable, str(stand_in)], cwd=flow.root)
    try:
        subprocess.run([sys.executable, str(CLEAR_STALE_LOCK)], cwd=flow.root, check=True)
        assert any((flow.root / ".snakemake" / "locks").iterdir())
    finally:
        holder.kill()
        holder.wait()

    flow.write_config(tiny)
    make_run(flow, "results/hiragana/metrics.json")
    assert (flow.root / "results" / "hiragana" / "metrics.json").is_file()
    leftovers = [p.name for p in (flow.root / "results").rglob(".*") if p.name.endswith((".part", ".old"))]
    assert leftovers == []


def test_a_killed_directory_output_leaves_no_orphan_temp_tree(workflow_copy):
    flow = workflow_copy
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    run = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", "results/hiragana/etl_synthetic"],
                           cwd=flow.root, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hiragana = flow.root / "results" / "hiragana"
    try:
        wait_for(lambda: hiragana.is_dir() and any(p.name.endswith(".part") for p in hiragana.iterdir()), 300,
                 "the synthetic ETL temp tree")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert [p for p in hiragana.iterdir() if p.name.endswith(".part")]
    make_run(flow, "results/hiragana/etl_28.h5")
    assert (hiragana / "etl_synthetic").is_dir()
    assert [p.name for p in hiragana.iterdir() if p.name.startswith(".")] == []
