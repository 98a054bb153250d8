"""Fixtures of the model, model package, transform and endpoint call tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .models import Calls


@pytest.fixture
def calls(sagepipe_home_dir: Path) -> Calls:
    """CallContexts in a fresh SAGEPIPE_HOME."""
    return Calls(sagepipe_home_dir)
