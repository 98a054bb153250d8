"""The one CreateTrainingJob request builder for the PyTorch training container.

The compiler (a pipeline's ``Training`` step) and the SDK-style classes (``PyTorch``,
``ModelTrainer``: for SageMaker and for their local mode) build their requests here, so the
request a local job runs is the one SageMaker receives.

Hyperparameters are written as the SageMaker SDK's PyTorch estimator writes them: every value
JSON-encoded (``"0.01"``, ``"\\"text\\""``), plus ``sagemaker_program``,
``sagemaker_submit_directory``, ``sagemaker_container_log_level``, ``sagemaker_region`` and,
for distributed jobs, ``sagemaker_torch_distributed_enabled`` or (``pytorchddp``, which the
SDK maps to SageMaker's data-parallel library) ``sagemaker_distributed_dataparallel_enabled``
with ``sagemaker_distributed_dataparallel_custom_mpi_options``, each with
``sagemaker_instance_type``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sagepipe.expressions import JsonValue

LOG_LEVEL_INFO = 20
DISTRIBUTIONS = ("torch_distributed", "pytorchddp")


def _json(value: Any) -> JsonValue:
    return json.dumps(value)


def training_hyperparameters(
    user: Mapping[str, Any],
    *,
    entry_point: str,
    submit_directory: str,
    region: str,
    distribution: str | None = None,
    instance_type: JsonValue = None,
    job_name: str | None = None,
    encode: Callable[[Any], JsonValue] = _json,
) -> dict[str, JsonValue]:
    """The job's string-valued hyperparameters, sorted by name.

    Args:
        user: The script's hyperparameters (``--name value``), any JSON values.
        entry_point: ``sagemaker_program``.
        submit_directory: ``sagemaker_submit_directory``: the code's ``sourcedir.tar.gz`` (an
            ``s3://`` URI; a ``file://`` URI or directory for a local job).
        region: ``sagemaker_region``.
        distribution: ``torch_distributed``, ``pytorchddp`` or None.
        instance_type: ``sagemaker_instance_type`` of a distributed job.
        job_name: ``sagemaker_job_name`` (the SDK's estimators write it; pipelines do not).
        encode: Encodes one user value (the compiler's also handles pipeline parameters).
    """
    values: dict[str, JsonValue] = {key: encode(value) for key, value in user.items()}
    values.update(
        {
            "sagemaker_program": json.dumps(entry_point),
            "sagemaker_submit_directory": json.dumps(submit_directory),
            "sagemaker_container_log_level": json.dumps(LOG_LEVEL_INFO),
            "sagemaker_region": json.dumps(region),
        }
    )
    if job_name is not None:
        values["sagemaker_job_name"] = json.dumps(job_name)
    if distribution == "torch_distributed":
        values["sagemaker_torch_distributed_enabled"] = "true"
    elif distribution == "pytorchddp":
        values["sagemaker_distributed_dataparallel_enabled"] = "true"
        values["sagemaker_distributed_dataparallel_custom_mpi_options"] = json.dumps("")
    if distribution is not None:
        values["sagemaker_instance_type"] = encode(instance_type)
    return dict(sorted(values.items()))


def s3_channel(name: str, uri: JsonValue, **options: str) -> dict[str, JsonValue]:
    """One ``InputDataConfig`` channel of S3 data (``S3Prefix``, ``FullyReplicated`` unless
    ``options`` say otherwise: ``S3DataType``, ``S3DataDistributionType``, ``ContentType``,
    ``InputMode``)."""
    source: dict[str, JsonValue] = {
        "S3DataDistributionType": options.pop("S3DataDistributionType", "FullyReplicated"),
        "S3DataType": options.pop("S3DataType", "S3Prefix"),
        "S3Uri": uri,
    }
    channel: dict[str, JsonValue] = {"ChannelName": name, "DataSource": {"S3DataSource": source}}
    channel.update(options)
    return channel


def create_training_job_request(
    *,
    image: JsonValue,
    hyperparameters: dict[str, JsonValue],
    output_path: JsonValue,
    instance_type: JsonValue,
    instance_count: JsonValue,
    max_runtime_seconds: JsonValue,
    role: JsonValue = None,
    volume_size: JsonValue = None,
    channels: Sequence[JsonValue] = (),
    metric_definitions: Sequence[Mapping[str, str]] = (),
    environment: Mapping[str, str] | None = None,
    checkpoint_s3_uri: JsonValue = None,
    metrics_time_series: bool = False,
    job_name: str | None = None,
) -> dict[str, JsonValue]:
    """A CreateTrainingJob request (a pipeline step's ``Arguments`` when ``job_name`` is
    None: SageMaker names a pipeline's jobs)."""
    algorithm: dict[str, JsonValue] = {"TrainingImage": image, "TrainingInputMode": "File"}
    if metrics_time_series:
        algorithm["EnableSageMakerMetricsTimeSeries"] = True
    if metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": m["Name"], "Regex": m["Regex"]} for m in metric_definitions
        ]
    resources: dict[str, JsonValue] = {
        "InstanceCount": instance_count,
        "InstanceType": instance_type,
    }
    if volume_size is not None:
        resources["VolumeSizeInGB"] = volume_size
    request: dict[str, JsonValue] = {}
    if job_name is not None:
        request["TrainingJobName"] = job_name
    request.update(
        {
            "AlgorithmSpecification": algorithm,
            "HyperParameters": hyperparameters,
            "OutputDataConfig": {"S3OutputPath": output_path},
            "ResourceConfig": resources,
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        }
    )
    if role is not None:
        request["RoleArn"] = role
    if channels:
        request["InputDataConfig"] = list(channels)
    if checkpoint_s3_uri:
        request["CheckpointConfig"] = {"S3Uri": checkpoint_s3_uri}
    if environment:
        request["Environment"] = dict(sorted(environment.items()))
    return request


def local_training_image(region: str) -> str:
    """The PyTorch training image of this machine's torch and Python, for a request built
    only to run locally (``sagepipe train``, a local ``fit`` without ``framework_version``):
    the local job then runs exactly what the image would, with no version warning."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = version("torch").split("+")[0]
    except PackageNotFoundError:
        torch = "2.1.0"  # no torch here: the image only selects the local runtime
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    return f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:{torch}-cpu-{py}"
