"""Submit, start, wait and describe: against moto's server over HTTP, and botocore's Stubber
for ListPipelineExecutionSteps, which moto does not implement (the Stubber checks every
request and response against botocore's SageMaker model)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagepipe.sagemaker import (
    CompileOptions,
    CredentialsError,
    SubmitError,
    compile_pipeline,
)
from sagepipe.sagemaker.aws import session
from sagepipe.sagemaker.follow import describe_lines, execution_state, region_of, wait
from sagepipe.sagemaker.submit import submit

from .resources.pipelines import full_pipeline

EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/example/execution/abc123def456"


def test_submit_uploads_upserts_and_starts(s3_bucket: str) -> None:
    pipeline = full_pipeline()
    compiled = compile_pipeline(pipeline, CompileOptions(bucket=s3_bucket))
    s3 = boto3.client("s3")
    sagemaker = boto3.client("sagemaker")
    # The moto server lives for the whole session; another test may have created "example".
    if sagemaker.list_pipelines(PipelineNamePrefix="example")["PipelineSummaries"]:
        sagemaker.delete_pipeline(PipelineName="example")
    lines: list[str] = []

    first = submit(sagemaker, s3, pipeline, compiled, report=lines.append)
    assert first.created and first.execution_arn is None
    assert first.pipeline_arn.endswith(":pipeline/example")
    for upload in compiled.uploads:
        key = upload.uri.removeprefix(f"s3://{s3_bucket}/")
        if upload.kind == "archive":
            body = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
            assert body == upload.bundle.archive()
        else:
            for item in upload.bundle.files:
                body = s3.get_object(Bucket=s3_bucket, Key=key + item.arcname)["Body"].read()
                assert body == upload.bundle.content(item)
    described = sagemaker.describe_pipeline(PipelineName="example")
    assert described["PipelineDefinition"] == compiled.compact_json()
    assert described["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"

    lines.clear()
    second = submit(
        sagemaker,
        s3,
        pipeline,
        compiled,
        start=True,
        parameters={"TrainInstanceType": "ml.m5.2xlarge", "LearningRate": "0.5"},
        report=lines.append,
    )
    assert not second.created
    assert not any(line.startswith("uploaded") for line in lines), lines  # content-addressed
    assert second.execution_arn is not None
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=second.execution_arn)
    assert execution["PipelineExecutionStatus"] == "Succeeded"
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=second.execution_arn
    )["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "LearningRate": "0.5",
        "TrainInstanceType": "ml.m5.2xlarge",
    }


def test_parameters_are_checked_before_anything_is_sent(s3_environ: dict[str, str]) -> None:
    pipeline = full_pipeline()
    compiled = compile_pipeline(pipeline)
    clients = (boto3.client("sagemaker"), boto3.client("s3"))
    with pytest.raises(SubmitError, match=r"no parameter 'LearningRat'.*did you mean"):
        submit(*clients, pipeline, compiled, start=True, parameters={"LearningRat": "1"})
    with pytest.raises(Exception, match="parameter 'TrainInstanceCount' is Integer"):
        submit(*clients, pipeline, compiled, start=True, parameters={"TrainInstanceCount": "x"})


def test_a_role_is_required(s3_environ: dict[str, str], tmp_path: Path) -> None:
    from sagepipe.config import ProcessingConfig
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    (tmp_path / "p.py").write_text("print(1)\n")
    config = ProcessingConfig(
        processing_entry_point="p.py",
        source_dir=str(tmp_path),
        bucket="some-bucket",
        framework_version="2.1.0",
        py_version="py310",
    )
    role = "arn:aws:iam::123456789012:role/StepRole"
    step = ProcessingStepBuilder(config, role=role).create_step(name="p")
    step_two = ProcessingStepBuilder(config, role=role.replace("Step", "Other")).create_step(
        name="q"
    )
    pipeline = Pipeline("roles", [step, step_two])
    compiled = compile_pipeline(pipeline)
    with pytest.raises(SubmitError, match="several roles"):
        submit(boto3.client("sagemaker"), boto3.client("s3"), pipeline, compiled)


def test_no_credentials_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="aws configure"):
        session("us-east-1")


def stubbed_sagemaker() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers
    )
    return client, Stubber(client)


def add_poll(stubber: Stubber, status: str, steps: list[dict[str, Any]]) -> None:
    stubber.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION},
    )
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": steps},
        {"PipelineExecutionArn": EXECUTION, "SortOrder": "Ascending"},
    )


def step(name: str, status: str, reason: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "StepName": name,
        "StepStatus": status,
        "StartTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }
    if reason:
        raw["FailureReason"] = reason
    return raw


def test_wait_follows_steps_and_prints_failure_reasons() -> None:
    client, stubber = stubbed_sagemaker()
    add_poll(stubber, "Executing", [step("preprocess", "Executing")])
    add_poll(stubber, "Executing", [step("preprocess", "Succeeded"), step("train", "Executing")])
    add_poll(
        stubber,
        "Failed",
        [
            step("preprocess", "Succeeded"),
            step("train", "Failed", "AlgorithmError: CUDA out of memory"),
        ],
    )
    lines: list[str] = []
    sleeps: list[float] = []
    with stubber:
        state = wait(client, EXECUTION, report=lines.append, poll_seconds=7, sleep=sleeps.append)
    stubber.assert_no_pending_responses()
    assert state.status == "Failed"
    assert sleeps == [7, 7]
    assert lines == [
        "[0/1] preprocess: Executing",
        "[1/2] preprocess: Succeeded",
        "[1/2] train: Executing",
        "[2/2] train: Failed",
        "execution Failed",
        "step 'train' failed: AlgorithmError: CUDA out of memory",
    ]


def test_describe_lists_steps() -> None:
    client, stubber = stubbed_sagemaker()
    add_poll(stubber, "Succeeded", [step("preprocess", "Succeeded"), step("train", "Succeeded")])
    with stubber:
        state = execution_state(client, EXECUTION)
    assert describe_lines(state) == [
        f"execution {EXECUTION}: Succeeded",
        "  preprocess  Succeeded",
        "  train       Succeeded",
    ]


def test_region_of_an_execution_arn() -> None:
    assert region_of(EXECUTION) == "us-east-1"
    with pytest.raises(Exception, match="not a pipeline execution ARN"):
        region_of("arn:aws:s3:::bucket")
