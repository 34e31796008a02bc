"""A workflow killed hard mid-training: `make run` clears the stale lock and finishes; no temp is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLEAR_STALE_LOCK = REPO / "workflow" / "lib" / "clear_stale_lock.py"


def make_run(flow, *targets: str) -> subprocess.CompletedProcess:
    """What `make run` runs (see the Makefile), in the workflow copy: for ``targets`` only, since the whole
    tiny run takes minutes and the finished_workflow fixture already makes it once."""
    subprocess.run([sys.executable, str(CLEAR_STALE_LOCK)], cwd=flow.root, check=True)
    return flow.snakemake(*targets)


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
