"""The config-driven registration pipeline through the real CLI: execution document, run,
registry, approval, and serving the registered package by its ARN."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registration"
GROUP = "bsm-pytorch-models"
EAST = "Registration_us-east-1"
EAST_ARN = f"arn:aws:sagemaker:us-east-1:000000000000:model-package/{GROUP}/1"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of examples/registration (loading pipeline.py must not write into the repo)."""
    target = tmp_path / "registration"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def sagepipe(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SAGEPIPE_HOME=str(project / "home"), SAGEPIPE_STORAGE="local")
    env.pop("SAGEPIPE_ACCOUNT_ID", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def make_model(project: Path) -> Path:
    archive = project / "model.tar.gz"
    subprocess.run(
        [sys.executable, str(project / "make_model.py"), str(archive)],
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return archive


@pytest.mark.slow
def test_registration_pipeline_end_to_end(project: Path) -> None:
    model = make_model(project)
    template = sagepipe(project, "execution-document", "pipeline.py:pipeline", "-o", "doc.json")
    assert template.returncode == 0, template.stderr
    document = json.loads((project / "doc.json").read_text())
    assert list(document["steps"]) == ["Model", "Packaging", "Payload", EAST]
    document["steps"][EAST]["customer_metadata"] = {"ticket": "ML-7"}
    (project / "doc.json").write_text(json.dumps(document))

    ran = sagepipe(
        project,
        "run",
        "pipeline.py:pipeline",
        "--param",
        f"ModelPath={model}",
        "--execution-document",
        "doc.json",
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"execution \w+: Succeeded", ran.stdout)
    for step in ("Model", "Packaging", "Payload", EAST):
        assert re.search(rf"{step}\s+Succeeded", ran.stdout), ran.stdout
    versions = sagepipe(project, "registry", "versions", GROUP)
    assert versions.returncode == 0, versions.stderr
    lines = versions.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "PendingManualApproval" in lines[0] and lines[0].endswith(EAST_ARN)

    approved = sagepipe(project, "registry", "approve", EAST_ARN, "--reason", "smoke-tested")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"{EAST_ARN}: Approved"
    shown = json.loads(sagepipe(project, "registry", "show", EAST_ARN).stdout)
    assert shown["ModelApprovalStatus"] == "Approved"
    assert [e["To"] for e in shown["ApprovalHistory"]] == ["PendingManualApproval", "Approved"]
    assert shown["CustomerMetadataProperties"] == {"ticket": "ML-7"}
    assert shown["SamplePayloadUrl"].endswith("/Payload/output/payload_sample/payload.tar.gz")
    container = shown["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"].endswith("/Packaging/output/packaged_model/model.tar.gz")
    assert container["Image"].startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/")

    served = serve_and_invoke(project, EAST_ARN, b"rec-1,0.5,1.0,-2.0\n")
    assert served[0]["id"] == "rec-1"
    probabilities = served[0]["probabilities"]
    assert isinstance(probabilities, list) and len(probabilities) == 2


def serve_and_invoke(project: Path, arn: str, body: bytes) -> list[dict[str, object]]:
    """``sagepipe serve ARN`` on a free port; one text/csv invocation; the server stopped."""
    log = project / "serve.log"
    env = dict(os.environ, SAGEPIPE_HOME=str(project / "home"), SAGEPIPE_STORAGE="local")
    command = [sys.executable, "-m", "sagepipe", "serve", arn, "--port", "0", "--workers", "1"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (match := re.search(r"listening on (http://\S+)", log.read_text())):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        request = urllib.request.Request(
            f"{match.group(1)}/invocations",
            data=body,
            headers={"Content-Type": "text/csv", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            result: list[dict[str, object]] = json.loads(response.read())
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_execution_document_mistakes_exit_2_before_anything_runs(project: Path) -> None:
    (project / "doc.json").write_text(json.dumps({"steps": {"Registration_eu-west-1": {}}}))

    ran = sagepipe(
        project,
        "run",
        "pipeline.py:pipeline",
        "--param",
        "ModelPath=/nowhere/model.tar.gz",
        "--execution-document",
        "doc.json",
    )
    resumed = sagepipe(project, "run", "--resume", "abc", "--execution-document", "doc.json")

    assert ran.returncode == 2
    assert ran.stderr.count("\n") == 1
    assert "unknown step 'Registration_eu-west-1'" in ran.stderr
    assert not (project / "home" / "executions").exists()
    assert resumed.returncode == 2
    assert "cannot be used with --resume" in resumed.stderr


def test_a_relative_model_path_fails_the_model_step(project: Path) -> None:
    ran = sagepipe(project, "run", "pipeline.py:pipeline", "--param", "ModelPath=model.tar.gz")

    assert ran.returncode == 1
    # The compiled repack job reads the model first, and names what it could not read.
    assert "reads model.tar.gz, where there is no object" in ran.stdout
    assert re.search(r"Packaging\s+NotRun", ran.stdout)
