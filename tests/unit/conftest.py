"""Shared fixtures: real local HTTP servers with scripted faults (see tests/http_fixtures.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from http_fixtures import ScriptedServer  # noqa: E402


@pytest.fixture
def http_server():
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def foreign_server():
    """A second loopback server playing a host outside allowed_hosts."""
    with ScriptedServer() as server:
        yield server
