"""Packaging facts a fresh install depends on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_conda_env_pins_the_same_requirements_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = yaml.safe_load((REPO / "envs" / "neta.yaml").read_text(encoding="utf-8"))
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert [req for req in pip_section if not req.startswith("-e")] == project["dependencies"]
    assert "-e .." in pip_section


def test_license_is_an_spdx_string():
    # A TOML table makes every install print setuptools' deprecation warning.
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project["license"], str)


def test_the_package_reads_the_workflow_schema():
    from neta.settings import load_schema

    on_disk = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    assert load_schema() == on_disk
