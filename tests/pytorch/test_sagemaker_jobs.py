"""The SageMaker code path: requests checked against botocore's service model by Stubber
(no AWS call)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sagepipe.pytorch import PyTorch, TrainingFailedError, TrainingInput

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


class StubSession:
    """A boto3-Session-like object whose clients are stubbed."""

    region_name = "us-west-2"

    def __init__(self) -> None:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2"
        )
        self.clients = {name: session.client(name) for name in ("s3", "sagemaker", "logs")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def client(self, name: str) -> Any:
        return self.clients[name]


def _describe(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": "sm-job",
        "TrainingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:training-job/sm-job",
        "TrainingJobStatus": status,
        "SecondaryStatus": "Training" if status == "InProgress" else status,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/out/sm-job/output/model.tar.gz"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": 0,
        **extra,
    }


def test_fit_creates_a_valid_training_job_and_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sagepipe.pytorch.sagemaker_jobs.time.sleep", lambda s: None)
    (tmp_path / "train.py").write_text("print('hi')\n")
    session = StubSession()
    captured: dict[str, Any] = {}
    session.stubs["s3"].add_response(
        "put_object",
        {},
        {"Bucket": "bucket", "Key": "out/sm-job/source/sourcedir.tar.gz", "Body": ANY},
    )
    # Stubber validates the request against botocore's CreateTrainingJob input shape.
    session.stubs["sagemaker"].add_response(
        "create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:::training-job/sm-job"}, None
    )
    session.stubs["sagemaker"].add_response("describe_training_job", _describe("InProgress"))
    session.stubs["sagemaker"].add_response("describe_training_job", _describe("Completed"))
    for _ in range(2):  # the log streams are listed after each status (none yet here)
        session.stubs["logs"].add_response("describe_log_streams", {"logStreams": []})

    def capture(**kwargs: Any) -> None:
        captured.update(kwargs["params"])

    session.clients["sagemaker"].meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", capture
    )
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(tmp_path),
        role=ROLE,
        instance_type="ml.m5.xlarge",
        instance_count=2,
        framework_version="2.1",
        py_version="py310",
        hyperparameters={"epochs": 3, "lr": 0.1},
        distribution={"torch_distributed": {"enabled": True}},
        metric_definitions=[{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
        output_path="s3://bucket/out",
        max_run=3600,
        sagemaker_session=session,
    )
    with session.stubs["s3"], session.stubs["sagemaker"], session.stubs["logs"]:
        estimator.fit(
            {
                "train": "s3://bucket/train",
                "test": TrainingInput("s3://bucket/test", "ShardedByS3Key"),
            },
            job_name="sm-job",
        )
        session.stubs["sagemaker"].assert_no_pending_responses()
    assert estimator.model_data == "s3://bucket/out/sm-job/output/model.tar.gz"
    hyperparameters = captured["HyperParameters"]
    assert hyperparameters["epochs"] == "3" and hyperparameters["lr"] == "0.1"
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    assert hyperparameters["sagemaker_torch_distributed_enabled"] == "true"
    assert json.loads(hyperparameters["sagemaker_submit_directory"]) == (
        "s3://bucket/out/sm-job/source/sourcedir.tar.gz"
    )
    image = captured["AlgorithmSpecification"]["TrainingImage"]
    # As the SDK: the alias 2.1 stays in the tag.
    assert image.endswith("pytorch-training:2.1-cpu-py310") and "us-west-2" in image
    channels = {c["ChannelName"]: c for c in captured["InputDataConfig"]}
    assert channels["test"]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == (
        "ShardedByS3Key"
    )
    assert captured["ResourceConfig"]["InstanceCount"] == 2


def test_failed_sagemaker_job_raises(tmp_path: Path) -> None:
    from sagepipe.pytorch.sagemaker_jobs import SageMakerTrainingJob

    session = StubSession()
    session.stubs["sagemaker"].add_response(
        "describe_training_job", _describe("Failed", FailureReason="AlgorithmError: boom")
    )
    job = SageMakerTrainingJob("sm-job", session.clients["sagemaker"])
    with session.stubs["sagemaker"], pytest.raises(TrainingFailedError, match="boom"):
        job.wait(logs=False)


def test_source_archive_holds_code_and_dependencies(tmp_path: Path) -> None:
    from sagepipe.pytorch.sagemaker_jobs import source_archive

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("")
    data = source_archive(tmp_path / "src", [str(tmp_path / "lib")])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(tar.getnames()) == ["lib", "lib/util.py", "train.py"]


def test_wait_follows_the_cloudwatch_logs_of_every_instance(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagepipe.pytorch.cloudwatch import LOG_GROUP
    from sagepipe.pytorch.sagemaker_jobs import SageMakerTrainingJob

    monkeypatch.setattr("sagepipe.pytorch.sagemaker_jobs.time.sleep", lambda s: None)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2"
    )
    sagemaker, logs = session.client("sagemaker"), session.client("logs")
    sm_stub, logs_stub = Stubber(sagemaker), Stubber(logs)
    streams = ["sm-job/algo-1-1700000000", "sm-job/algo-2-1700000000"]

    def list_streams() -> None:
        logs_stub.add_response(
            "describe_log_streams",
            {"logStreams": [{"logStreamName": s} for s in streams]},
            {"logGroupName": LOG_GROUP, "logStreamNamePrefix": "sm-job/"},
        )

    def events(stream: str, token: str | None, messages: list[str], next_token: str) -> None:
        expected: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token is not None:
            expected["nextToken"] = token
        logs_stub.add_response(
            "get_log_events",
            {
                "events": [{"timestamp": 0, "message": m, "ingestionTime": 0} for m in messages],
                "nextForwardToken": next_token,
            },
            expected,
        )

    sm_stub.add_response("describe_training_job", _describe("InProgress"))
    list_streams()
    events(streams[0], None, ["epoch 1", "Train Loss: 0.5"], "a1")
    events(streams[0], "a1", [], "a1")
    events(streams[1], None, ["worker ready"], "b1")
    events(streams[1], "b1", [], "b1")
    sm_stub.add_response("describe_training_job", _describe("Completed"))
    list_streams()
    events(streams[0], "a1", ["saved model"], "a2")
    events(streams[0], "a2", [], "a2")
    events(streams[1], "b1", [], "b1")

    job = SageMakerTrainingJob("sm-job", sagemaker, logs_client=logs)
    with sm_stub, logs_stub:
        model_data = job.wait(logs=True)
        logs_stub.assert_no_pending_responses()
    assert model_data == "s3://bucket/out/sm-job/output/model.tar.gz"
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "sm-job: InProgress Training",
        "[algo-1] epoch 1",
        "[algo-1] Train Loss: 0.5",
        "[algo-2] worker ready",
        "sm-job: Completed Completed",
        "[algo-1] saved model",
    ]
