"""tests/integration/conftest.py (copy_workflow, TINY_CONFIG, Workflow) for the cluster tests: the
same copy of the workflow and the same tiny config, loaded by path (both folders have a conftest)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

NAME = "neta_integration_conftest"

if NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        NAME, Path(__file__).resolve().parents[1] / "integration" / "conftest.py")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[NAME] = _module
    _spec.loader.exec_module(_module)

integration = sys.modules[NAME]
