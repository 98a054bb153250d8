"""``sagepipe compile | submit | describe`` and ``validate --target sagemaker`` through the
real entry point (subprocesses); ``describe`` and ``submit --wait`` run ``main()`` in-process
with a Stubber-checked SageMaker client, as moto lacks ListPipelineExecutionSteps."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

RESOURCES = Path(__file__).parent.parent / "sagemaker" / "resources"
EXAMPLE = f"{RESOURCES / 'example_pipeline.py'}:build"
BROKEN = f"{RESOURCES / 'example_pipeline.py'}:broken"
GOLDEN = Path(__file__).parent.parent / "sagemaker" / "golden" / "example.json"
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/example/execution/abc123def456"


def no_aws_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    """The environment with no AWS credentials at all and every endpoint at ``endpoint``."""
    empty = tmp_path / "empty-aws"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def sagepipe(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def listener() -> Iterator[tuple[str, list[object]]]:
    """A TCP server on 127.0.0.1 that records every connection (an AWS call would be one)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            seen.append(connection)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    stop.set()
    thread.join()
    server.close()


def test_compile_is_offline_deterministic_and_uploads_nothing(
    tmp_path: Path, listener: tuple[str, list[object]]
) -> None:
    endpoint, connections = listener
    env = no_aws_env(tmp_path, endpoint)
    first = sagepipe("compile", EXAMPLE, "-o", str(tmp_path / "one.json"), env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = sagepipe("compile", EXAMPLE, env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    written = (tmp_path / "one.json").read_text()
    assert written == second.stdout == GOLDEN.read_text()
    assert "wrote" in first.stderr and "10 steps" in first.stderr
    assert "warning: step 'train'" in first.stderr
    assert connections == []


def test_compile_upload_without_credentials_is_one_line(
    tmp_path: Path, listener: tuple[str, list[object]]
) -> None:
    endpoint, connections = listener
    done = sagepipe(
        "compile",
        EXAMPLE,
        "-o",
        str(tmp_path / "d.json"),
        "--upload",
        env=no_aws_env(tmp_path, endpoint),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    error = [line for line in done.stderr.splitlines() if line.startswith("sagepipe: error")]
    assert error == [
        "sagepipe: error: no AWS credentials found: run 'aws configure' (or 'aws sso login "
        "--profile P' and set AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]
    assert connections == []


def test_validate_target_sagemaker(tmp_path: Path, listener: tuple[str, list[object]]) -> None:
    env = no_aws_env(tmp_path, listener[0])
    good = sagepipe("validate", EXAMPLE, "--target", "sagemaker", env=env, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "ok: example: 8 steps, 4 parameters (valid for sagemaker)"
    bad = sagepipe("validate", BROKEN, "--target", "sagemaker", env=env, cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        "step 'train': Arguments.ResourceConfig.InstanceType: 'ml.g5.huge' is not one of"
    ) in bad.stderr
    assert "did you mean 'ml.g5.xlarge'?" in bad.stderr


def test_submit_and_start_against_moto(
    tmp_path: Path, s3_env: dict[str, str], s3_bucket: str
) -> None:
    env = {**os.environ, **s3_env}
    done = sagepipe(
        "submit",
        EXAMPLE,
        "--bucket",
        s3_bucket,
        "--start",
        "--param",
        "LearningRate=0.2",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "pipeline arn:aws:sagemaker:us-east-1:" in done.stdout
    assert "started execution arn:aws:sagemaker:us-east-1:" in done.stdout
    client = boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(k.endswith("/sourcedir.tar.gz") for k in keys)
    assert any(k.endswith("/files/package_model.py") for k in keys)


def test_submit_needs_a_role(tmp_path: Path, s3_env: dict[str, str]) -> None:
    (tmp_path / "prep.py").write_text("print(1)\n")
    (tmp_path / "pipeline.py").write_text(
        "from pathlib import Path\n"
        "from sagepipe.config import ProcessingConfig\n"
        "from sagepipe.pipeline import Pipeline\n"
        "from sagepipe.steps import ProcessingStepBuilder\n\n"
        "config = ProcessingConfig(processing_entry_point='prep.py',\n"
        "    source_dir=str(Path(__file__).parent), bucket='b-b-b',\n"
        "    framework_version='2.1.0', py_version='py310')\n"
        "pipeline = Pipeline('no-role', [ProcessingStepBuilder(config).create_step(name='prep')])\n"
    )
    done = sagepipe("submit", "pipeline.py:pipeline", env={**os.environ, **s3_env}, cwd=tmp_path)
    assert done.returncode == 2
    assert "step 'prep' has no IAM role: pass --role ARN" in done.stderr


def stubbed(monkeypatch: pytest.MonkeyPatch, s3: Any = None) -> Stubber:
    """Make the CLI's SageMaker clients one Stubber-checked client (and S3 ``s3``)."""
    client = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",
    )
    from sagepipe.sagemaker import aws

    monkeypatch.setattr(
        aws, "client", lambda service, region: client if service == "sagemaker" else s3
    )
    return Stubber(client)


def poll(stubber: Stubber, status: str, steps: list[tuple[str, str, str]]) -> None:
    stubber.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION},
    )
    stubber.add_response(
        "list_pipeline_execution_steps",
        {
            "PipelineExecutionSteps": [
                {
                    "StepName": name,
                    "StepStatus": step_status,
                    "StartTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
                    **({"FailureReason": reason} if reason else {}),
                }
                for name, step_status, reason in steps
            ]
        },
        {"PipelineExecutionArn": EXECUTION, "SortOrder": "Ascending"},
    )


def test_describe(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from sagepipe.cli.main import main

    stubber = stubbed(monkeypatch)
    poll(stubber, "Failed", [("train", "Failed", "ClientError: bad data")])
    with stubber:
        assert main(["describe", EXECUTION]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"execution {EXECUTION}: Failed",
        "  train  Failed",
        "step 'train' failed: ClientError: bad data",
    ]


def test_submit_wait_follows_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    s3_environ: dict[str, str],
    s3_bucket: str,
) -> None:
    from sagepipe.cli.main import main

    stubber = stubbed(monkeypatch, s3=boto3.client("s3"))
    pipeline_arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/example"
    stubber.add_response(
        "create_pipeline",
        {"PipelineArn": pipeline_arn},
        {
            "PipelineName": "example",
            "PipelineDefinition": ANY,
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "ClientRequestToken": ANY,
        },
    )
    stubber.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION},
        {"PipelineName": "example", "ClientRequestToken": ANY},
    )
    poll(stubber, "Executing", [("preprocess", "Executing", "")])
    poll(stubber, "Succeeded", [("preprocess", "Succeeded", "")])
    with stubber:
        status = main(["submit", EXAMPLE, "--bucket", s3_bucket, "--wait", "--poll", "0"])
    assert status == 0
    out = capsys.readouterr().out
    assert "[1/1] preprocess: Succeeded" in out
    assert out.rstrip().endswith("execution Succeeded")
