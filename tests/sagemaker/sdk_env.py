"""A virtual environment with the SageMaker Python SDK, for the differential test and the
benchmark only: the SDK is never a dependency of sagepipe.

It is a separate environment because installing the SDK into sagepipe's would downgrade
packages sagepipe uses (``pip install --dry-run sagemaker==2.257.7`` replaces rich 15 with
14.3.4 and packaging 26 with 24.2). It is created once under the given directory and reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SDK_REQUIREMENT = "sagemaker==2.257.7"
SDK_VERSION = SDK_REQUIREMENT.split("==")[1]


class SdkUnavailable(Exception):
    """The SDK's environment cannot be created (no package index reachable)."""


def sdk_python(directory: Path) -> Path:
    """The Python of a virtual environment with the SDK, created under ``directory`` when
    missing or holding another SDK version."""
    venv = directory / "venv"
    python = venv / "bin" / "python"
    if python.exists() and _version(python) == SDK_VERSION:
        return python
    directory.mkdir(parents=True, exist_ok=True)
    steps = (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SDK_REQUIREMENT,
        ],
    )
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise SdkUnavailable(
                f"{' '.join(command[-2:])} failed: {(done.stdout + done.stderr)[-2000:]}"
            )
    if _version(python) != SDK_VERSION:
        raise SdkUnavailable(f"{venv} does not hold {SDK_REQUIREMENT} after installing it")
    return python


def run_sdk_script(request: Any, endpoint: str, work: Path, script: Path, *args: str) -> None:
    """Run ``script`` with the SDK's Python (its environment cached by pytest), offline against
    the moto server at ``endpoint``; the calling test is skipped when the SDK cannot be
    installed, and fails with the script's error output when the script fails.

    Args:
        request: The test's ``pytest.FixtureRequest`` (for its cache).
    """
    import pytest

    cache = Path(request.config.cache.mkdir(f"sagemaker-sdk-{SDK_VERSION}"))
    try:
        python = sdk_python(cache)
    except SdkUnavailable as exc:
        pytest.skip(f"the SageMaker SDK cannot be installed here (no package index?): {exc}")
    done = subprocess.run(
        [str(python), str(script), *args],
        env=sdk_env(work, endpoint),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def sdk_env(directory: Path, endpoint: str) -> dict[str, str]:
    """Environment for running the SDK offline: dummy credentials, every AWS endpoint at
    ``endpoint`` (moto), no deprecation banner (``sdk_reference.py`` turns telemetry off)."""
    empty = directory / "empty-aws"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
    )
    return env


def _version(python: Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('sagemaker'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def reference_spec(compiled_definition: dict[str, object]) -> dict[str, object]:
    """The SDK reference's inputs: the example's configuration and, from sagepipe's
    definition, only the content-addressed code URIs (so that the SDK uploads nothing)."""
    from .resources.pipelines import BUCKET, HYPERPARAMETERS, ROLE

    steps = {s["Name"]: s for s in compiled_definition["Steps"]}  # type: ignore[attr-defined, index]

    def code(step: str, script: str) -> str:
        inputs = steps[step]["Arguments"]["ProcessingInputs"]
        prefix = next(i for i in inputs if i["InputName"] == "code")["S3Input"]["S3Uri"]
        return f"{prefix}{script}"

    hyperparameters = steps["train"]["Arguments"]["HyperParameters"]
    model_environment = steps["model"]["Arguments"]["PrimaryContainer"]["Environment"]
    registration = steps["registration"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    from sagepipe.config import ModelHyperparameters

    return {
        "region": "us-east-1",
        "role": ROLE,
        "bucket": BUCKET,
        "framework_version": "2.1.0",
        "py_version": "py310",
        "input_data": "s3://sagepipe-test-bucket/raw/",
        "hyperparameters": {
            k: v
            # Only the fields set reach the job, as sagepipe compiles typed hyperparameters.
            for k, v in ModelHyperparameters(**HYPERPARAMETERS)
            .model_dump(exclude_unset=True)
            .items()
            if k != "learning_rate"
        },
        "metric_definitions": steps["train"]["Arguments"]["AlgorithmSpecification"][
            "MetricDefinitions"
        ],
        "training_output_path": steps["train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"],
        "container_environment": model_environment,
        "package_environment": registration["Environment"],
        "code": {
            "preprocess": code("preprocess", "preprocess.py"),
            "packaging": code("packaging", "package_model.py"),
            "payload": code("payload", "make_payload.py"),
            "train": json.loads(hyperparameters["sagemaker_submit_directory"]),
        },
    }
