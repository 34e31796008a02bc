"""The workflow stays lint-clean and snakefmt-formatted, as CI checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_snakemake_lint_is_clean(workflow_copy):
    proc = workflow_copy.snakemake("--lint")
    assert "Lints for" not in proc.stdout + proc.stderr
    assert "good condition" in proc.stdout + proc.stderr


def test_snakefmt_check_passes():
    repo = Path(__file__).resolve().parents[2]
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check_passes():
    repo = Path(__file__).resolve().parents[2]
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "src", "tests", "benchmarks", "workflow/lib"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
