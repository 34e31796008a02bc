"""How `make test` shares the suite between its workers (pytest-xdist, ``-n 2``).

Each test file goes to one worker whole, so its module fixtures are built once (``--dist loadfile``
would do that alone). Every file that asks for the finished tiny workflow (the session fixture of
tests/integration, ~2.5 min of snakemake) goes to the same worker, so that workflow runs once and
the tests that change it and put it back never overlap. (xdist's ``loadgroup`` would say this with
marks, but it renames node ids, which pytest 9.2 no longer lets a plugin do.)
"""

import re
from pathlib import Path

import pytest

SHARED_RUN = "finished_workflow"
TESTS = Path(__file__).resolve().parent


def shared_run_files() -> set[str]:
    """The test files (node-id paths, from the repository root) that name the shared run's fixture."""
    pattern = re.compile(rf"\b{SHARED_RUN}\b")
    return {path.relative_to(TESTS.parent).as_posix() for path in TESTS.rglob("test_*.py")
            if pattern.search(path.read_text(encoding="utf-8"))}


# optional: without pytest-xdist (`-p no:xdist`) the hook does not exist and the suite runs in one process
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadFileScheduling

    readers = shared_run_files()

    class FileScheduling(LoadFileScheduling):
        """A test file a unit of work; the files of the shared run one unit together."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_RUN if path in readers else path

    return FileScheduling(config, log)
