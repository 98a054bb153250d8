"""A CreateTrainingJob request read as the PyTorch training container reads it.

:func:`training_problems` says what in a request has no local meaning (one line each, naming
the field); it checks only concrete values, so it serves both before a run (on a definition
step's unevaluated ``Arguments``) and inside the step (on the evaluated request).
:func:`read_request` turns a checked, concrete request into a :class:`TrainingRequest`.

Hyperparameters arrive as SageMaker passes them: strings, JSON-encoded by the SDK
(``"3"``, ``"\\"adam\\""``). The training toolkit decodes each one (keeping a string that is
not JSON as it is) and separates the ``sagemaker_*`` ones: ``sagemaker_program`` is the entry
point, ``sagemaker_submit_directory`` the code, and the ``*_enabled`` distribution flags
select the launcher.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sagepipe.local.calls.images import image_problem, local_runtime
from sagepipe.local.layout import OPT_ML

Distribution = Literal["torch_distributed", "pytorchddp"]

DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
LOG_LEVEL = "sagemaker_container_log_level"
REGION = "sagemaker_region"
#: The distribution flags the PyTorch container launches with torchrun. SageMaker's
#: data-parallel library (``sagemaker_distributed_dataparallel_enabled``) runs its workers
#: through its own launcher; locally torchrun starts the same processes over simulated hosts.
DISTRIBUTION_FLAGS: dict[str, Distribution] = {
    "sagemaker_torch_distributed_enabled": "torch_distributed",
    "sagemaker_pytorch_ddp_enabled": "pytorchddp",
    "sagemaker_distributed_dataparallel_enabled": "pytorchddp",
}
#: Request members with no effect on a local job (networking, IAM, spot capacity, debugger,
#: profiler, experiments, retries): accepted and recorded, as SageMaker would.
ACCEPTED = frozenset(
    {
        "TrainingJobName",
        "RoleArn",
        "VpcConfig",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
        "Tags",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "ProfilerConfig",
        "ProfilerRuleConfigurations",
        "ExperimentConfig",
        "RetryStrategy",
        "TensorBoardOutputConfig",
        "InfraCheckConfig",
        "RemoteDebugConfig",
        "SessionChainingConfig",
    }
)
HANDLED = frozenset(
    {
        "AlgorithmSpecification",
        "HyperParameters",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "Environment",
        "CheckpointConfig",
    }
)


@dataclass(frozen=True)
class ChannelRequest:
    """One ``InputDataConfig`` channel with S3 data.

    Attributes:
        name: ``ChannelName``.
        uri: ``S3DataSource.S3Uri`` (an ``s3://`` URI; ``file://`` URIs and paths locally).
        data_type: ``S3Prefix`` or ``ManifestFile``.
        config: What ``inputdataconfig.json`` tells the container about the channel.
    """

    name: str
    uri: str
    data_type: str
    config: dict[str, str]


@dataclass(frozen=True)
class TrainingRequest:
    """What a local training job needs from a CreateTrainingJob request."""

    image: str
    program: str
    submit_directory: str
    hyperparameters: dict[str, Any]
    distribution: Distribution | None
    channels: list[ChannelRequest]
    output_path: str
    instance_type: str
    instance_count: int
    max_runtime_seconds: int | None
    environment: dict[str, str]
    metric_definitions: list[dict[str, str]]
    checkpoint_uri: str | None
    checkpoint_path: str
    region: str
    log_level: int
    notes: list[str] = field(default_factory=list)


def toolkit_value(text: Any) -> Any:
    """A hyperparameter as the training toolkit reads it: JSON-decoded when it is JSON."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


_EXPRESSIONS = frozenset({"Get", "Std:Join", "Std:JsonGet"})


def _concrete(value: Any) -> bool:
    """Whether ``value`` is not itself a pipeline expression (still to be evaluated)."""
    return not (isinstance(value, Mapping) and len(value) == 1 and set(value) <= _EXPRESSIONS)


def _member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) and _concrete(value) else None


def training_problems(step: str, request: Mapping[str, Any]) -> list[str]:
    """Why this CreateTrainingJob request cannot run locally (concrete values only)."""
    problems = [
        f"step {step!r}: {key} has no local meaning; the local training job reads "
        f"{', '.join(sorted(HANDLED))}"
        for key in request
        if key not in HANDLED and key not in ACCEPTED
    ]
    for key, member in (
        ("AlgorithmSpecification", "TrainingImage"),
        ("OutputDataConfig", "S3OutputPath"),
    ):
        value = request.get(key, {})
        if isinstance(value, Mapping) and _concrete(value) and member not in value:
            problems.append(f"step {step!r}: {key}.{member} is required")
    problems += _algorithm_problems(step, request.get("AlgorithmSpecification"))
    problems += _hyperparameter_problems(step, request.get("HyperParameters"))
    problems += _channel_problems(step, request)
    resources = request.get("ResourceConfig")
    if _member(resources, "InstanceGroups"):
        problems.append(
            f"step {step!r}: ResourceConfig.InstanceGroups (a heterogeneous cluster) is not "
            "simulated locally; give InstanceType and InstanceCount"
        )
    local_path = _member(request.get("CheckpointConfig"), "LocalPath")
    if isinstance(local_path, str) and not (
        local_path == OPT_ML or local_path.startswith(OPT_ML + "/")
    ):
        problems.append(
            f"step {step!r}: CheckpointConfig.LocalPath {local_path!r} is outside {OPT_ML}; "
            f"locally the container's files live under {OPT_ML} (default "
            f"{DEFAULT_CHECKPOINT_PATH})"
        )
    return problems


def _algorithm_problems(step: str, algorithm: Any) -> list[str]:
    where = f"step {step!r}: AlgorithmSpecification"
    if not isinstance(algorithm, Mapping) or not _concrete(algorithm):
        return []
    problems: list[str] = []
    if "AlgorithmName" in algorithm:
        problems.append(
            f"{where}.AlgorithmName names a SageMaker or Marketplace algorithm, which has no "
            "local runtime; give a PyTorch TrainingImage"
        )
    image = algorithm.get("TrainingImage")
    problem = image_problem(step, "AlgorithmSpecification.TrainingImage", image)
    if problem is not None:
        problems.append(problem)
    elif isinstance(image, str):
        runtime = local_runtime(image)
        # SageMaker's scikit-learn image runs the same training toolkit (the SDK's model
        # repack step is a training job on it); an inference image trains nothing.
        if runtime is not None and runtime.kind not in ("pytorch-training", "pytorch", "sklearn"):
            problems.append(
                f"{where}.TrainingImage {image!r} is a {runtime.kind} image; a training job "
                "runs locally on a pytorch-training, sagemaker-pytorch or scikit-learn image"
            )
    for key in ("ContainerEntrypoint", "ContainerArguments"):
        if key in algorithm:
            problems.append(
                f"{where}.{key} replaces the PyTorch container's training toolkit, which is "
                "what runs locally; give the script as the sagemaker_program hyperparameter"
            )
    mode = algorithm.get("TrainingInputMode")
    if mode == "Pipe":
        problems.append(
            f"{where}.TrainingInputMode is Pipe: locally channels are files; use File (or FastFile)"
        )
    return problems


def _hyperparameter_problems(step: str, hyperparameters: Any) -> list[str]:
    if not isinstance(hyperparameters, Mapping) or not _concrete(hyperparameters):
        return []
    where = f"step {step!r}: HyperParameters"
    problems: list[str] = []
    for key in (PROGRAM, SUBMIT_DIRECTORY):
        if key not in hyperparameters:
            problems.append(
                f"{where} has no {key}; the PyTorch container runs the script it names "
                f"from the code in {SUBMIT_DIRECTORY} (the SDK's estimators write both)"
            )
    for key, value in hyperparameters.items():
        if (
            isinstance(value, str)
            and key.startswith("sagemaker_")
            and key.endswith("_enabled")
            and key not in DISTRIBUTION_FLAGS
            and toolkit_value(value) is True
        ):
            problems.append(
                f"{where}.{key} asks for a launcher that is not simulated locally; locally "
                f"distributed jobs use {', '.join(sorted(DISTRIBUTION_FLAGS))} (torchrun)"
            )
    enabled = [
        key
        for key in DISTRIBUTION_FLAGS
        if isinstance(hyperparameters.get(key), str) and toolkit_value(hyperparameters[key]) is True
    ]
    if len({DISTRIBUTION_FLAGS[key] for key in enabled}) > 1:
        problems.append(f"{where} enables {' and '.join(enabled)}; enable one")
    return problems


def _channel_problems(step: str, request: Mapping[str, Any]) -> list[str]:
    channels = request.get("InputDataConfig")
    if not isinstance(channels, list):
        return []
    count = _member(request.get("ResourceConfig"), "InstanceCount")
    problems: list[str] = []
    for index, channel in enumerate(channels):
        name = _member(channel, "ChannelName")
        where = f"step {step!r}: InputDataConfig[{index}]" + (
            f" (channel {name!r})" if isinstance(name, str) else ""
        )
        source = _member(channel, "DataSource")
        if isinstance(source, Mapping) and "S3DataSource" not in source:
            problems.append(
                f"{where}: only S3DataSource is read locally (not "
                f"{', '.join(sorted(source))}); copy the data to S3 or the local store"
            )
        s3 = _member(source, "S3DataSource")
        data_type = _member(s3, "S3DataType")
        if isinstance(data_type, str) and data_type not in ("S3Prefix", "ManifestFile"):
            problems.append(
                f"{where}: S3DataType {data_type} is not supported locally; use S3Prefix or "
                "ManifestFile"
            )
        sharded = _member(s3, "S3DataDistributionType") == "ShardedByS3Key"
        if sharded and isinstance(count, int) and count > 1:
            problems.append(
                f"{where}: ShardedByS3Key over {count} instances is not simulated locally "
                "(every simulated host sees the whole channel); use FullyReplicated"
            )
        if _member(channel, "InputMode") == "Pipe":
            problems.append(f"{where}: InputMode Pipe is not supported locally; use File")
        if _member(channel, "RecordWrapperType") == "RecordIO":
            problems.append(
                f"{where}: RecordWrapperType RecordIO applies to Pipe mode, which is not "
                "supported locally; use None"
            )
    return problems


def read_request(request: Mapping[str, Any], default_region: str) -> TrainingRequest:
    """The local job's view of a concrete request already checked by
    :func:`training_problems`."""
    algorithm = dict(request.get("AlgorithmSpecification") or {})
    strings = {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in (request.get("HyperParameters") or {}).items()
    }
    decoded = {key: toolkit_value(value) for key, value in strings.items()}
    distribution = next(
        (flag for key, flag in DISTRIBUTION_FLAGS.items() if decoded.get(key) is True), None
    )
    notes: list[str] = []
    modes = {algorithm.get("TrainingInputMode")} | {
        c.get("InputMode") for c in request.get("InputDataConfig") or []
    }
    if "FastFile" in modes:
        notes.append(
            "InputMode FastFile streams objects on SageMaker; locally the channel's files are "
            "downloaded first, as in File mode"
        )
    channels = [_channel(dict(c), notes) for c in request.get("InputDataConfig") or []]
    resources = request.get("ResourceConfig") or {}
    stopping = request.get("StoppingCondition") or {}
    checkpoint = request.get("CheckpointConfig") or {}
    # The container's own sagemaker_* values (entry point, code, region, job name) are set by
    # the local job; the others are additional framework parameters, as the toolkit keeps them.
    own = {PROGRAM, SUBMIT_DIRECTORY, LOG_LEVEL, REGION, "sagemaker_job_name"}
    region = decoded.get(REGION)
    return TrainingRequest(
        image=str(algorithm.get("TrainingImage", "")),
        program=str(decoded[PROGRAM]),
        submit_directory=str(decoded[SUBMIT_DIRECTORY]),
        hyperparameters={k: v for k, v in decoded.items() if k not in own},
        distribution=distribution,
        channels=channels,
        output_path=str((request.get("OutputDataConfig") or {})["S3OutputPath"]).rstrip("/"),
        instance_type=str(resources.get("InstanceType", "local")),
        instance_count=int(resources.get("InstanceCount", 1)),
        max_runtime_seconds=stopping.get("MaxRuntimeInSeconds"),
        environment={str(k): str(v) for k, v in (request.get("Environment") or {}).items()},
        metric_definitions=[
            {"Name": str(m["Name"]), "Regex": str(m["Regex"])}
            for m in algorithm.get("MetricDefinitions") or []
        ],
        checkpoint_uri=checkpoint.get("S3Uri"),
        checkpoint_path=str(checkpoint.get("LocalPath") or DEFAULT_CHECKPOINT_PATH),
        region=region if isinstance(region, str) and region else default_region,
        log_level=level if isinstance(level := decoded.get(LOG_LEVEL), int) else logging.INFO,
        notes=notes,
    )


def _channel(channel: dict[str, Any], notes: list[str]) -> ChannelRequest:
    s3 = channel["DataSource"]["S3DataSource"]
    config = {
        "TrainingInputMode": "File",
        "S3DistributionType": str(s3.get("S3DataDistributionType", "FullyReplicated")),
        "RecordWrapperType": str(channel.get("RecordWrapperType", "None")),
    }
    if channel.get("ContentType"):
        config["ContentType"] = str(channel["ContentType"])
    compression = channel.get("CompressionType", "None")
    if compression == "Gzip":
        config["CompressionType"] = "Gzip"
        notes.append(
            f"channel {channel['ChannelName']!r}: CompressionType Gzip is applied in Pipe mode "
            "only; in File mode the objects arrive as they are stored (compressed), as on "
            "SageMaker"
        )
    return ChannelRequest(
        name=str(channel["ChannelName"]),
        uri=str(s3["S3Uri"]),
        data_type=str(s3.get("S3DataType", "S3Prefix")),
        config=config,
    )
