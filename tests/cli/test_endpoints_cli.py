"""``sagepipe endpoints list|describe|delete`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.endpoints import create_endpoint, delete_endpoint, describe_endpoint

DOUBLER = """import json

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
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(DOUBLER)
    return model_dir


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", "endpoints", *args],
        env={**os.environ, "SAGEPIPE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_list_describe_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    model = write_doubler(tmp_path / "model")
    assert _cli(home, "list").stdout.strip() == "no local endpoints"
    record = create_endpoint("cli-endpoint", str(model), workers=1, home=home)
    try:
        listed = _cli(home, "list")
        assert listed.returncode == 0
        assert "cli-endpoint" in listed.stdout and "InService" in listed.stdout
        described = _cli(home, "describe", "cli-endpoint")
        assert described.returncode == 0, described.stderr
        document = json.loads(described.stdout)
        assert document["EndpointStatus"] == "InService"
        assert document["Url"] == record.url and document["ModelDataUrl"] == str(model)
        runtime = _cli(home, "runtime", "--url")
        assert runtime.returncode == 0, runtime.stderr
        assert document["RuntimeUrl"] == runtime.stdout.strip() != record.url
        hint = _cli(home, "runtime").stdout
        assert f"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={document['RuntimeUrl']}" in hint
        deleted = _cli(home, "delete", "cli-endpoint")
        assert deleted.returncode == 0 and "deleted" in deleted.stdout
        assert describe_endpoint("cli-endpoint", home).status == "Deleted"
    finally:
        delete_endpoint("cli-endpoint", home, timeout_s=10)
    missing = _cli(home, "describe", "cli-endpiont")
    assert missing.returncode == 2
    assert "did you mean" in missing.stderr and "cli-endpoint" in missing.stderr


def test_runtime_starts_and_stops(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = _cli(home, "runtime", "--url")
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    try:
        assert url.startswith("http://127.0.0.1:")
        # The same one, still running (a runtime without endpoints lives a minute at least).
        assert _cli(home, "runtime", "--url").stdout.strip() == url
    finally:
        stopped = _cli(home, "runtime", "--stop").stdout.strip()
    assert stopped == "local SageMaker runtime stopped"
    assert _cli(home, "runtime", "--stop").stdout.strip() == "no runtime was running"
