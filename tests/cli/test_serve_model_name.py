"""`sagepipe serve NAME` serves a model created by a pipeline run, found by its ModelName in
the run store, with the model's container environment."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from tests.serving.support import running_server, write_linear

from sagepipe.local.records import ModelRecord
from sagepipe.local.store import RunStore


def _record(home: Path, archive: Path, environment: dict[str, str]) -> None:
    store = RunStore.open(home)
    try:
        store.add_model(
            ModelRecord(
                name="model-abc123",
                execution_id="abc123",
                step_name="model",
                image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310",
                model_data_url=str(archive),
                environment=environment,
                region="us-east-1",
                created_at=time.time(),
            )
        )
    finally:
        store.close()


@pytest.mark.slow
def test_serve_a_model_of_a_pipeline_run_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    model_dir = write_linear(tmp_path / "model")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "model.pt", arcname="model.pt")
    # The container environment comes with the model: here it makes CSV the default Accept.
    _record(home, archive, {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
    monkeypatch.setenv("SAGEPIPE_HOME", str(home))

    with running_server("model-abc123") as server:
        status, _, body = server.invoke(json.dumps([[1.0, 1.0]]).encode(), "application/json")
    assert status == 200
    assert body.decode().strip() == "3.5"  # 1*1 + 2*1 + 0.5


def test_an_unknown_model_name_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, "-m", "sagepipe", "serve", "no-such-model", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "'no-such-model' is not a file" in done.stderr
    assert "Traceback" not in done.stderr
