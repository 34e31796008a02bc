"""Real `snakemake` runs on a copy of the workflow in a temporary directory."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COPIED = ["Snakefile", "workflow", "src", "profiles", "envs", "config.yaml", "config"]


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

    @contextlib.contextmanager
    def kept_as_it_was(self, *names: str):
        """Put these files and folders (outputs, logs, `.snakemake/metadata`) back afterwards with their
        times, so a test that reruns a stage leaves the finished run finished without rebuilding all
        that stage feeds (a minute of training for the feature or crawl stages)."""
        kept = self.root.parent / f"kept_{self.root.name}"
        shutil.rmtree(kept, ignore_errors=True)
        for name in names:
            copy_of = shutil.copytree if (self.root / name).is_dir() else shutil.copy2
            (kept / name).parent.mkdir(parents=True, exist_ok=True)
            copy_of(self.root / name, kept / name)
        try:
            yield
        finally:
            for name in names:
                if (self.root / name).is_dir():
                    shutil.rmtree(self.root / name)
                if (kept / name).is_dir():
                    shutil.copytree(kept / name, self.root / name)
                else:
                    shutil.copy2(kept / name, self.root / name)
            shutil.rmtree(kept)

    def planned_jobs(self, *targets: str) -> dict[str, int]:
        """Rule -> job count that a dry run would execute (empty when nothing is to do)."""
        return self.dry_run(*targets)[0]

    def dry_run(self, *args: str) -> tuple[dict[str, int], str]:
        """A dry run's rule -> job count, and its whole output (with --printshellcmds, the commands)."""
        proc = self.snakemake("--dry-run", *args)
        text = proc.stdout + proc.stderr
        return job_counts(text), text


def job_counts(text: str) -> dict[str, int]:
    """Rule -> job count of the "Job stats" table in a dry run's output (empty when nothing is to do)."""
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


# The tiny run (config/test.yaml, the one place its values live), merged over config.yaml key by key
# as `snakemake --configfile config/test.yaml` merges it; the tests keep the merge in the copy's
# config.yaml, which they edit.
TINY_CONFIG = yaml.safe_load((REPO / "config" / "test.yaml").read_text(encoding="utf-8"))


def copy_workflow(root: Path, tiny: bool = True) -> Workflow:
    """A copy of the workflow under `root`; its config.yaml is the tiny run's unless `tiny` is false
    (then it is the repository's own, with config/ beside it as in a checkout)."""
    root.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, root / name)
    flow = Workflow(root)
    if tiny:
        flow.write_config(deep_update(flow.config(), copy.deepcopy(TINY_CONFIG)))
    return flow


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Workflow:
    return copy_workflow(tmp_path / "neta")


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Workflow:
    """A copy of the workflow as a checkout has it: the default config.yaml, config/ beside it."""
    return copy_workflow(tmp_path / "neta", tiny=False)


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
