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
        self.clients = {name: session.client(name) for name in ("s3", "sagemaker")}
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
    with session.stubs["s3"], session.stubs["sagemaker"]:
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
    assert image.endswith("pytorch-training:2.1.0-cpu-py310") and "us-west-2" in image
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
