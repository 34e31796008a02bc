"""Real `snakemake` runs on a copy of the workflow in a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COPIED = ["Snakefile", "workflow", "src", "profiles", "envs", "config.yaml"]


def deep_update(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


class Workflow:
    """A copy of the workflow with its own config; runs snakemake with the test's interpreter."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write_config(self, config: dict) -> None:
        (self.root / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    def config(self) -> dict:
        return yaml.safe_load((self.root / "config.yaml").read_text(encoding="utf-8"))

    def snakemake(self, *args: str, check: bool = True, timeout: float = 600,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, **(env or {})}
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "2", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def planned_jobs(self, *targets: str) -> dict[str, int]:
        """Rule -> job count that a dry run would execute (empty when nothing is to do)."""
        proc = self.snakemake("--dry-run", *targets)
        text = proc.stdout + proc.stderr
        counts: dict[str, int] = {}
        table = re.search(r"Job stats:\n(.*?)\n\n", text + "\n\n", re.S)
        if table is None:
            assert "Nothing to be done" in text, text
            return counts
        for line in table.group(1).splitlines()[2:]:
            parts = line.split()
            if len(parts) == 2 and parts[0] != "total" and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
        return counts


TINY_CONFIG = {
    "hiragana": {
        "synth": {"writers": 6, "heldout_writers": 2},
        "split": {"test_fraction": 0.34},
        # Enough steps to learn something (~0.58 CNN accuracy on 2 test writers), a few seconds of CPU.
        "train": {
            "steps": 200,
            "batch_size": 32,
            "lr_schedule": [[0, 1.0e-3], [150, 5.0e-4]],
            "keep_prob_schedule": [[0, 1.0], [100, 0.5]],
        },
        "baseline": {"steps": 200, "batch_size": 32},
    },
    # Small pizza generators for one epoch: the stages' plumbing, not good models
    "pizza": {"models": {"latent": 16, "dense": 64, "gan_width": 2, "samples_per_recipe": 2,
                         **{part: {"epochs": 1} for part in ("cvae", "gan", "cvae_gan", "classifier")}}},
    # A small Show and Tell for a few epochs: the stages' plumbing, not a good model
    "captioner": {
        "vocab": {"min_count": 1},
        "model": {"embed_size": 32, "hidden_size": 48},
        "train": {"epochs": 4, "batch_size": 32},
        "decode": {"beam": 4},
    },
}


def copy_workflow(root: Path) -> Workflow:
    root.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, root / name)
    flow = Workflow(root)
    flow.write_config(deep_update(flow.config(), TINY_CONFIG))
    return flow


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Workflow:
    return copy_workflow(tmp_path / "neta")


# Loaded by every Python process started with the trace directory on PYTHONPATH: a `python -m neta`
# process appends the neta source files it ran to $NETA_IMPORT_TRACE when it exits.
TRACE_HOOK = """
import atexit, json, os, sys

def _record():
    if not sys.argv or not sys.argv[0].endswith(os.path.join("neta", "__main__.py")):
        return
    files = sorted(m.__file__ for name, m in list(sys.modules.items())
                   if (name == "neta" or name.startswith("neta.")) and getattr(m, "__file__", None))
    with open(os.environ["NETA_IMPORT_TRACE"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"argv": sys.argv[1:], "files": files}) + "\\n")

atexit.register(_record)
"""


@pytest.fixture(scope="session")
def finished_workflow(tmp_path_factory) -> Workflow:
    """The whole tiny workflow run once, with every neta process's imported files traced."""
    base = tmp_path_factory.mktemp("finished")
    hook = base / "trace_hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(TRACE_HOOK, encoding="utf-8")
    flow = copy_workflow(base / "neta")
    flow.trace = base / "imports.jsonl"
    flow.snakemake(env={"PYTHONPATH": str(hook), "NETA_IMPORT_TRACE": str(flow.trace)}, timeout=1200)
    return flow
