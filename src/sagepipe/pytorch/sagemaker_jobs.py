"""SageMaker training jobs for ``PyTorch.fit`` with an ``ml.*`` instance type.

The code is uploaded as ``sourcedir.tar.gz`` next to the job's output (as the SDK does),
the ``CreateTrainingJob`` request carries the SDK's ``sagemaker_*`` hyperparameters, and
the job is followed with ``DescribeTrainingJob`` until it ends.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.pytorch.errors import EstimatorError, TrainingFailedError
from sagepipe.storage import parse_s3

if TYPE_CHECKING:
    from sagepipe.pytorch.estimator import PyTorch
    from sagepipe.pytorch.inputs import TrainingInput

_TERMINAL = ("Completed", "Failed", "Stopped")


def source_archive(source_dir: Path, dependencies: list[str]) -> bytes:
    """``sourcedir.tar.gz``: the source directory's files and each dependency at the root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                tar.add(path, arcname=path.relative_to(source_dir).as_posix())
        for dependency in map(Path, dependencies):
            tar.add(dependency, arcname=dependency.name)
    return buffer.getvalue()


def training_request(
    estimator: PyTorch,
    job_name: str,
    channels: dict[str, TrainingInput],
    region: str,
    submit_uri: str,
) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request of ``estimator`` for SageMaker (see
    :func:`~sagepipe.pytorch.requests.estimator_request`).

    Raises:
        EstimatorError: no role, output_path, or framework/py version without image_uri.
    """
    from sagepipe.images import image_uri

    if not estimator.role:
        raise EstimatorError("a SageMaker training job needs role= (an IAM role ARN)")
    if not estimator.output_path or not estimator.output_path.startswith("s3://"):
        raise EstimatorError("a SageMaker training job needs output_path='s3://bucket/prefix'")
    if estimator.image_uri is None and (
        not estimator.framework_version or not estimator.py_version
    ):
        raise EstimatorError(
            "a SageMaker training job needs framework_version and py_version (e.g. '2.1' and "
            "'py310'), or image_uri"
        )
    from sagepipe.pytorch.requests import estimator_request

    image = estimator.image_uri or image_uri(
        "training",
        region,
        str(estimator.framework_version),
        estimator.py_version,
        str(estimator.instance_type),
        distribution=estimator.distribution,
    )
    return estimator_request(
        estimator,
        job_name,
        channels,
        region=region,
        submit_directory=submit_uri,
        image=image,
        output_path=estimator.output_path,
    )


class SageMakerTrainingJob:
    """A training job on SageMaker, created and followed with boto3.

    Args:
        name: The job's name.
        client: A boto3 ``sagemaker`` client.
    """

    def __init__(
        self, name: str, client: Any, submit_uri: str | None = None, logs_client: Any = None
    ) -> None:
        self.name = name
        self.client = client
        #: A boto3 ``logs`` client: with it, ``wait(logs=True)`` prints the job's CloudWatch
        #: log lines as they arrive.
        self.logs_client = logs_client
        #: The job's ``sourcedir.tar.gz`` URI, reused by ``deploy()`` as the SDK does.
        self.submit_uri = submit_uri

    @classmethod
    def create(
        cls, estimator: PyTorch, job_name: str, channels: dict[str, TrainingInput]
    ) -> SageMakerTrainingJob:
        """Upload the code and call ``CreateTrainingJob``."""
        session = session_or_default(estimator.sagemaker_session)
        region = session.region_name or os.environ.get("AWS_REGION") or "us-east-1"
        output = str(estimator.output_path or "").rstrip("/")
        submit_uri = f"{output}/{job_name}/source/sourcedir.tar.gz"
        request = training_request(estimator, job_name, channels, region, submit_uri)
        location = parse_s3(submit_uri)
        session.client("s3").put_object(
            Bucket=location.bucket,
            Key=location.key,
            Body=source_archive(Path(estimator.source_dir), estimator.dependencies),
        )
        client = session.client("sagemaker")
        client.create_training_job(**request)
        return cls(job_name, client, submit_uri, session.client("logs"))

    @classmethod
    def attach(
        cls, estimator_class: type[PyTorch], job_name: str, sagemaker_session: Any, logs: bool
    ) -> PyTorch:
        """An estimator for a SageMaker job, waiting for it to end."""
        session = session_or_default(sagemaker_session)
        job = cls(job_name, session.client("sagemaker"), logs_client=session.client("logs"))
        described = job.describe()
        submit = described.get("HyperParameters", {}).get("sagemaker_submit_directory")
        job.submit_uri = None if submit is None else str(json.loads(submit))
        hyperparameters = {
            k: json.loads(v)
            for k, v in described.get("HyperParameters", {}).items()
            if not k.startswith("sagemaker_")
        }
        resources = described["ResourceConfig"]
        estimator = estimator_class(
            entry_point=json.loads(described["HyperParameters"]["sagemaker_program"]),
            source_dir=".",
            role=described["RoleArn"],
            instance_type=resources["InstanceType"],
            instance_count=resources["InstanceCount"],
            hyperparameters=hyperparameters,
            output_path=described["OutputDataConfig"]["S3OutputPath"],
            sagemaker_session=sagemaker_session,
        )
        estimator._job_name = job_name
        estimator._remote = job
        estimator._model_data = job.wait(logs=logs)
        return estimator

    def describe(self) -> dict[str, Any]:
        """``DescribeTrainingJob``'s response."""
        response: dict[str, Any] = self.client.describe_training_job(TrainingJobName=self.name)
        return response

    def wait(
        self, logs: bool = True, poll_s: float = 10.0, sleep: Callable[[float], None] = time.sleep
    ) -> str:
        """Poll until the job ends; with ``logs``, print status changes and the job's
        CloudWatch log lines; return the model artifact URI.

        Raises:
            TrainingFailedError: the job failed or was stopped.
        """
        from sagepipe.pytorch.cloudwatch import LogFollower

        follower = LogFollower(self.logs_client, self.name) if logs and self.logs_client else None
        last = ""
        while True:
            described = self.describe()
            status = described["TrainingJobStatus"]
            secondary = described.get("SecondaryStatus", "")
            if logs and f"{status}/{secondary}" != last:
                print(f"{self.name}: {status} {secondary}".rstrip(), flush=True)
                last = f"{status}/{secondary}"
            if follower is not None:
                # After the last status, one more read catches the final lines.
                for line in follower.poll():
                    print(line, flush=True)
            if status in _TERMINAL:
                break
            sleep(poll_s)
        if status != "Completed":
            raise TrainingFailedError(
                f"training job {self.name} {status}: {described.get('FailureReason', '')}"
            )
        return str(described["ModelArtifacts"]["S3ModelArtifacts"])


def session_or_default(session: Any) -> Any:
    """``session`` (a boto3 Session, or any object with ``client`` and ``region_name``),
    or a new ``boto3.Session``."""
    if session is not None:
        return session
    import boto3

    return boto3.Session()
