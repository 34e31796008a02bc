"""`make test` runs on two workers (tests/conftest.py): the files of the shared tiny run stay together."""

import ast
import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _suite_conftest():
    spec = importlib.util.spec_from_file_location("suite_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _asks_for(path: Path, fixture: str) -> bool:
    """A test or fixture of ``path`` takes ``fixture`` as an argument."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and any(arg.arg == fixture for arg in node.args.args)
               for node in ast.walk(tree))


def test_every_file_that_takes_the_finished_workflow_runs_on_the_one_worker_that_built_it():
    conftest = _suite_conftest()
    takers = {path.relative_to(TESTS.parent).as_posix() for path in TESTS.rglob("test_*.py")
              if _asks_for(path, conftest.SHARED_RUN)}
    assert "tests/integration/test_app_browser.py" in takers
    assert takers <= conftest.shared_run_files()
    assert not any(path.startswith("tests/unit/") for path in conftest.shared_run_files())
