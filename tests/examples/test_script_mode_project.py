"""A third-party script-mode project in a pipeline, through the real CLI: ``code/`` is written
as SageMaker's own PyTorch examples are (SM_HOSTS, SM_CURRENT_HOST, SM_NUM_GPUS, the default
``training`` channel, strict ``parse_args()``, an inference script with only ``model_fn``), and
runs unmodified: trained, packaged, smoke-tested with its own sample files, registered, served
and compiled."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sagepipe.registry import LocalRegistry

PROJECT = Path(__file__).resolve().parents[1] / "resources" / "script_mode_project"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAGEPIPE_HOME": str(project / "home"), "SAGEPIPE_STORAGE": "local"}
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project with its data: two separable classes of 4 features, and sample files."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    (root / "data").mkdir()
    np.savetxt(root / "data" / "train.csv", np.column_stack([x, y]), delimiter=",", fmt="%.5f")
    (root / "samples").mkdir()
    (root / "samples" / "two-rows.csv").write_text("2.0,2.0,0.1,0.1\n-2.0,-2.0,0.3,0.3\n")
    (root / "samples" / "one-row.txt").write_text("[[1.5, 1.0, 0.0, 0.0]]")
    return root


@pytest.mark.slow
def test_a_third_party_project_runs_registers_serves_and_compiles(project: Path) -> None:
    run = _cli(project, "run", "pipeline.yaml")
    assert run.returncode == 0, run.stdout + run.stderr
    execution = re.search(r"execution (\w+): Succeeded", run.stdout)
    assert execution is not None, run.stdout
    steps = project / "home" / "executions" / execution.group(1)

    train_log = (steps / "train" / "step.log").read_text()
    # The script read the cluster and GPU variables SageMaker sets and its channel.
    assert re.search(r"Distributed training - False; number of gpus: \d+\n", train_log), train_log
    command = re.search(r"following command: \S+ train\.py (.*)\n", train_log)
    assert command is not None, train_log
    assert command.group(1).split() == ["--batch-size", "16", "--epochs", "20", "--lr", "0.1"]
    accuracy = [float(a) for a in re.findall(r"Accuracy: ([0-9.]+)", train_log)]
    assert len(accuracy) == 20 and accuracy[-1] >= 0.9

    # Both sample files (one CSV, one JSON under another file name) passed the smoke test,
    # answered by the toolkit's default input_fn/predict_fn/output_fn.
    registration_log = (steps / "registration" / "step.log").read_text()
    for sample in ("two-rows.csv", "one-row.txt"):
        assert f"the sample file {sample} of " in registration_log, registration_log
    registry = LocalRegistry(project / "home" / "registry.db")
    (version,) = registry.list_versions("script-mode-project", "us-west-2")
    arn = version.model_package_arn

    # The registered package serves: the default handlers turn the CSV into a tensor and the
    # logits into JSON.
    served = subprocess.Popen(
        [sys.executable, "-m", "sagepipe", "serve", arn, "--port", "0"],
        cwd=project,
        env={**os.environ, "SAGEPIPE_HOME": str(project / "home"), "SAGEPIPE_STORAGE": "local"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert served.stdout is not None
        url = None
        for line in served.stdout:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the server did not start"
        answer = _cli(
            project, "invoke", url, "--content-type", "text/csv", "--data", "3,3,0,0\n-3,-3,0,0"
        )
        assert answer.returncode == 0, answer.stderr
        logits = np.asarray(json.loads(answer.stdout))
        assert logits.shape == (2, 2)
        assert list(logits.argmax(axis=1)) == [1, 0]
    finally:
        served.terminate()
        served.wait(timeout=30)

    # And it compiles for SageMaker: the script's own hyperparameters, the training channel.
    out = project / "definition.json"
    compiled = _cli(
        project, "compile", "pipeline.yaml", "-o", str(out), "--bucket", "my-bucket",
        "--role", ROLE,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    definition = json.loads(out.read_text())
    training = next(s for s in definition["Steps"] if s["Type"] == "Training")["Arguments"]
    hyperparameters = {
        k: v for k, v in training["HyperParameters"].items() if not k.startswith("sagemaker_")
    }
    assert hyperparameters == {"epochs": "20", "batch-size": "16", "lr": "0.1"}
    assert [c["ChannelName"] for c in training["InputDataConfig"]] == ["training"]
    image = training["AlgorithmSpecification"]["TrainingImage"]
    assert image == "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.1-cpu-py310"
