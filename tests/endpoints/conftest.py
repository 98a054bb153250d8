"""Fixtures of the local endpoint tests: a sagepipe home and a tiny pure-Python model."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagepipe.endpoints import DELETED, delete_endpoint, list_endpoints

# A model served without torch: the handlers double numbers given as JSON.
DOUBLER = """
    import json

    def model_fn(model_dir):
        return 2

    def input_fn(body, content_type):
        return json.loads(body)

    def predict_fn(data, factor):
        return [x * factor for x in data]

    def output_fn(prediction, accept):
        return json.dumps(prediction)
"""


def write_doubler(model_dir: Path) -> Path:
    """A model directory whose ``code/inference.py`` doubles a JSON list."""
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent(DOUBLER))
    return model_dir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``SAGEPIPE_HOME`` in tmp_path; endpoints left running are stopped afterwards."""
    home = tmp_path / "home"
    monkeypatch.setenv("SAGEPIPE_HOME", str(home))
    yield home
    for record in list_endpoints(home):
        if record.status != DELETED:
            delete_endpoint(record.name, home, timeout_s=10)


@pytest.fixture
def doubler(tmp_path: Path) -> Path:
    return write_doubler(tmp_path / "doubler")
