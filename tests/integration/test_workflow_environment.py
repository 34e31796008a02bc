"""The jobs run the interpreter Snakemake runs in: `.venv/bin/snakemake` works without activating the
venv, whatever `python` the PATH holds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_jobs_use_snakemakes_interpreter_not_the_python_on_the_path(workflow_copy, tmp_path):
    flow = workflow_copy
    # A PATH whose `python` is not the venv's (as a shell without the venv activated has it): one that
    # fails loudly, so a job that calls it cannot pass.
    decoy = tmp_path / "decoy-bin"
    decoy.mkdir()
    for name in ("python", "python3"):
        script = decoy / name
        script.write_text("#!/bin/sh\necho 'the PATH python ran' >&2\nexit 97\n", encoding="utf-8")
        script.chmod(0o755)
    env = {**os.environ, "PATH": os.pathsep.join([str(decoy), "/usr/bin", "/bin"])}
    env.pop("VIRTUAL_ENV", None)

    def snakemake(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=flow.root, env=env,
                              capture_output=True, text=True, timeout=600)

    planned = snakemake("--dry-run", "--printshellcmds", "--forceall")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    commands = [line.removeprefix("Shell command: ") for line in planned.stdout.splitlines()
                if line.startswith("Shell command: ") and line != "Shell command: None"]
    assert len(commands) > 30 and all(command.startswith("neta ") for command in commands), commands

    proc = snakemake("results/bokete/snapshot")  # one quick job
    log = (flow.root / "results/logs/bokete_snapshot.log")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (log.read_text(encoding="utf-8") if log.exists() else "")
    assert (flow.root / "results/bokete/snapshot").is_dir()
    assert "the PATH python ran" not in log.read_text(encoding="utf-8")
