"""Fixtures of the definitions tests: a private copy of tests/resources per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

RESOURCES = Path(__file__).parent.parent / "resources"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    """A copy of tests/resources (importing a pipeline file must not write into the repo)."""
    target = tmp_path / "resources"
    shutil.copytree(RESOURCES, target)
    return target


@pytest.fixture
def registration_example(tmp_path: Path) -> Path:
    """A copy of examples/registration; returns its config file."""
    target = tmp_path / "registration"
    shutil.copytree(EXAMPLES / "registration", target)
    return target / "config.yaml"
