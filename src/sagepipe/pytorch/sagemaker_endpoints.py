"""SageMaker endpoints for ``PyTorchModel.deploy`` with an ``ml.*`` instance type.

As the SDK's ``Model.deploy`` for PyTorch 1.2 and later: a model with inference code is
repacked (the model data downloaded, the code put under ``code/`` of a new archive with
sagepipe's streaming packager, uploaded to ``<model data dir>/<model name>/model.tar.gz``), so
the container finds it at ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``; then
``CreateModel``, ``CreateEndpointConfig`` (one ``AllTraffic`` variant) and ``CreateEndpoint``
are called with boto3, and the endpoint is polled with ``DescribeEndpoint`` until it leaves
``Creating``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.pytorch.errors import EstimatorError
from sagepipe.pytorch.sagemaker_jobs import session_or_default
from sagepipe.storage import parse_s3

if TYPE_CHECKING:
    from sagepipe.pytorch.model import PyTorchModel

#: The variant name the SDK gives the single production variant of ``deploy``.
VARIANT_NAME = "AllTraffic"
#: Statuses ``DescribeEndpoint`` reports while the endpoint is not ready yet.
_PENDING = ("Creating", "Updating", "SystemUpdating")


class EndpointFailedError(EstimatorError):
    """A SageMaker endpoint ended ``Failed`` (the SDK's ``UnexpectedStatusException``)."""


def repacked_uri(model: PyTorchModel, model_name: str) -> str | None:
    """Where the model repacked with its code goes: ``<model data dir>/<model
    name>/model.tar.gz`` (the SDK's place); None for a model without code."""
    if not model.entry_point and not model.source_dir:
        return None
    parent = model.model_data.rsplit("/", 1)[0]
    return f"{parent}/{model_name}/model.tar.gz"


def model_request(
    model: PyTorchModel, model_name: str, instance_type: str, region: str, model_data: str
) -> dict[str, Any]:
    """The ``CreateModel`` request of ``model`` (the SDK's script-mode environment).

    Raises:
        EstimatorError: no role, or model data that is not on S3.
    """
    from sagepipe.images import image_uri

    if not model.role:
        raise EstimatorError(
            "deploying to SageMaker needs role= (an IAM role ARN SageMaker assumes to read "
            "the model data), on PyTorchModel(...) or PyTorch(...)"
        )
    if not model.model_data.startswith("s3://"):
        raise EstimatorError(
            f"model_data {model.model_data!r}: a SageMaker endpoint reads its model from S3; "
            "upload model.tar.gz and pass its s3:// URI"
        )
    from sagepipe.sagemaker.model_environment import model_environment

    # A model with code is repacked with it under code/ (repacked_uri), which the entry
    # point implies: the builder then points SAGEMAKER_SUBMIT_DIRECTORY there.
    environment = model_environment(region, model.entry_point, model.env)
    return {
        "ModelName": model_name,
        "ExecutionRoleArn": model.role,
        "PrimaryContainer": {
            "Image": model.image_uri
            or image_uri(
                "inference", region, model.framework_version, model.py_version, instance_type
            ),
            "ModelDataUrl": model_data,
            "Environment": environment,
        },
    }


def endpoint_config_request(
    name: str, model_name: str, instance_type: str, initial_instance_count: int
) -> dict[str, Any]:
    """The ``CreateEndpointConfig`` request: one ``AllTraffic`` variant of the model."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": model_name,
                "InitialInstanceCount": initial_instance_count,
                "InstanceType": instance_type,
                "InitialVariantWeight": 1.0,
            }
        ],
    }


def deploy_to_sagemaker(
    model: PyTorchModel,
    initial_instance_count: int,
    instance_type: str,
    model_name: str,
    endpoint_name: str,
    wait: bool = True,
) -> Any:
    """Upload the code, create the model, endpoint config and endpoint; wait for it.

    Returns:
        The boto3 session used (the Predictor invokes the endpoint through it).

    Raises:
        EstimatorError: no role, model data not on S3, or no instance.
        EndpointFailedError: the endpoint ended ``Failed`` (its FailureReason is in the message).
    """
    if initial_instance_count < 1:
        raise EstimatorError("deploy() needs initial_instance_count >= 1")
    session = session_or_default(model.sagemaker_session)
    region = model.region or session.region_name or os.environ.get("AWS_REGION") or "us-east-1"
    target = repacked_uri(model, model_name)
    # Checked before anything is downloaded or uploaded.
    model_request(model, model_name, instance_type, region, target or model.model_data)
    model_data = model.model_data
    if target is not None:
        _repack(session.client("s3"), model, target)
        model_data = target
    request = model_request(model, model_name, instance_type, region, model_data)
    client = session.client("sagemaker")
    client.create_model(**request)
    client.create_endpoint_config(
        **endpoint_config_request(endpoint_name, model_name, instance_type, initial_instance_count)
    )
    client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=endpoint_name)
    if wait:
        wait_for_endpoint(client, endpoint_name)
    return session


def wait_for_endpoint(
    client: Any,
    endpoint_name: str,
    poll_s: float = 30.0,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Poll ``DescribeEndpoint`` until the endpoint is no longer being created.

    Raises:
        EndpointFailedError: the endpoint ended in any status but ``InService``.
    """
    while True:
        described: dict[str, Any] = client.describe_endpoint(EndpointName=endpoint_name)
        status = described["EndpointStatus"]
        if status not in _PENDING:
            break
        (sleep or time.sleep)(poll_s)
    if status != "InService":
        raise EndpointFailedError(
            f"endpoint {endpoint_name} is {status}: "
            f"{described.get('FailureReason', 'no FailureReason given')}; see its CloudWatch "
            f"logs (/aws/sagemaker/Endpoints/{endpoint_name})"
        )
    return described


def _repack(s3: Any, model: PyTorchModel, target: str) -> None:
    """Download the model data (and an ``s3://`` source dir), put the code under ``code/``
    of a new archive, upload it to ``target``."""
    import tempfile

    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.artifacts.package import package_model

    with tempfile.TemporaryDirectory(prefix="sagepipe-repack-") as scratch:
        work = Path(scratch)
        source = parse_s3(model.model_data)
        s3.download_file(source.bucket, source.key, str(work / "model.tar.gz"))
        code_dir, entry_point = _code_dir(s3, model, work)
        try:
            package_model(
                work / "model.tar.gz", code_dir, entry_point, [], work / "repacked.tar.gz"
            )
        except ArtifactError as exc:
            raise EstimatorError(
                f"repacking {model.model_data} with its code failed: {exc}"
            ) from None
        location = parse_s3(target)
        s3.upload_file(str(work / "repacked.tar.gz"), location.bucket, location.key)


def _code_dir(s3: Any, model: PyTorchModel, work: Path) -> tuple[Path, str]:
    """The code directory that becomes ``code/`` of the repacked archive, and the entry point.

    As the SDK's ``repack_model``: an ``s3://`` source dir is downloaded, a local one copied
    whole; without a source dir the archive's own ``code/`` is kept and only the entry point
    script is added to it (a script that is not a local file must already be there).
    """
    from sagepipe.artifacts.safety import safe_extract

    entry_point = Path(str(model.entry_point or "inference.py")).name
    if model.source_dir and model.source_dir.startswith("s3://"):
        location = parse_s3(model.source_dir)
        s3.download_file(location.bucket, location.key, str(work / "sourcedir.tar.gz"))
        safe_extract(work / "sourcedir.tar.gz", work / "code")
        return work / "code", entry_point
    if model.source_dir:
        if not Path(model.source_dir).is_dir():
            raise EstimatorError(f"source_dir {model.source_dir} is not a directory")
        return Path(model.source_dir), entry_point
    safe_extract(work / "model.tar.gz", work / "model", select=_in_code_dir)
    code = work / "model" / "code"
    code.mkdir(parents=True, exist_ok=True)
    script = Path(str(model.entry_point))
    if script.is_file():
        shutil.copy2(script, code / entry_point)
    elif not (code / entry_point).is_file():
        raise EstimatorError(
            f"entry_point {script} is not a file here nor in code/ of {model.model_data}; "
            "pass the path of the inference script (or source_dir=)"
        )
    return code, entry_point


def _in_code_dir(name: str) -> bool:
    return name == "code" or name.startswith("code/")
