"""A single-node Slurm for the cluster tests (`make test-cluster`; `make test` leaves tests/cluster out).

Needs root and Debian's slurm-wlm and munge (the Makefile installs them), and the `.[slurm]` extra.
Without them the tests skip, saying what is missing; NETA_REQUIRE_CLUSTER=1 (set by .ci/run) turns
that skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from slurm_node import SlurmNode, missing_programs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "cluster: runs the workflow on a single-node Slurm (make test-cluster)")


def why_no_cluster() -> str | None:
    if os.geteuid() != 0:
        return "the single-node Slurm runs its daemons as root; run `sudo make test-cluster`"
    missing = missing_programs()
    if missing:
        return (f"Slurm/munge programs missing ({', '.join(missing)}); "
                "run as root: apt-get install slurm-wlm munge (or `make test-cluster`)")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed; run: .venv/bin/pip install -e '.[slurm]'"
    return None


@pytest.fixture(scope="session")
def slurm_node(tmp_path_factory):
    reason = why_no_cluster()
    if reason:
        if os.environ.get("NETA_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"NETA_REQUIRE_CLUSTER=1 but the cluster test cannot run: {reason}")
        pytest.skip(reason)
    node = SlurmNode(tmp_path_factory.mktemp("slurm"))
    node.start()
    try:
        yield node
    finally:
        node.stop()
