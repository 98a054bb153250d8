"""What a training job needs (:class:`TrainingJobSpec`) and what it produces."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# SageMaker's rule for channel names (Channel.ChannelName).
_CHANNEL = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")


class TrainingJobSpec(BaseModel):
    """One SageMaker-style training job, with its inputs already on local disk.

    Attributes:
        job_name: The job's name (``TRAINING_JOB_NAME``).
        source_dir: Directory holding the entry point; copied to ``code/``.
        entry_point: Script (``.py``) or command (``.sh``) relative to ``source_dir``.
        hyperparameters: JSON-able values, passed as ``--name value`` arguments.
        channels: Channel name -> local directory already materialised by the caller.
        env: Extra environment variables; they override the SM_* ones.
        instance_type: Reported as ``SM_CURRENT_INSTANCE_TYPE``.
        instance_count: Number of simulated hosts ``algo-1..N``.
        distribution: ``torch_distributed`` or ``pytorchddp`` to launch with torchrun.
        processes_per_host: torchrun's ``--nproc_per_node`` (default: GPUs, or 1 on CPU).
        metric_definitions: ``{"Name": ..., "Regex": ...}`` matched on each log line.
        max_runtime_seconds: Stop the job after this long (SageMaker's stopping condition).
        install_requirements: Install ``requirements.txt`` into a cached virtualenv.
        region: ``SAGEMAKER_REGION``/``sagemaker_region`` (default: ``AWS_REGION``, else
            ``us-east-1``).
        log_level: ``sagemaker_container_log_level`` (``SM_LOG_LEVEL``), a ``logging`` level.
        channel_config: Per channel, entries of ``inputdataconfig.json`` beyond the defaults
            (``ContentType``, ``CompressionType``, ``S3DistributionType``...), as the request
            gives them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_name: str = Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
    source_dir: Path
    entry_point: str = Field(min_length=1)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, Path] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    instance_type: str = "local"
    instance_count: int = Field(default=1, ge=1)
    distribution: Literal["torch_distributed", "pytorchddp"] | None = None
    processes_per_host: int | None = Field(default=None, ge=1)
    metric_definitions: list[dict[str, str]] = Field(default_factory=list)
    max_runtime_seconds: int | None = Field(default=None, ge=1)
    install_requirements: bool = True
    region: str | None = None
    log_level: int = logging.INFO
    channel_config: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        for name in value:
            if not _CHANNEL.match(name):
                raise ValueError(
                    f"channel name {name!r} is invalid: use 1-64 letters, digits, '.', '-', '_'"
                )
        return value

    @field_validator("metric_definitions")
    @classmethod
    def _metric_definitions(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        for definition in value:
            if set(definition) != {"Name", "Regex"}:
                raise ValueError(
                    f"metric definition {definition!r} must have exactly the keys Name and Regex"
                )
            try:
                compiled = re.compile(definition["Regex"])
            except re.error as exc:
                raise ValueError(
                    f"metric {definition['Name']!r}: regex {definition['Regex']!r} does not "
                    f"compile: {exc}"
                ) from None
            if compiled.groups < 1:
                raise ValueError(
                    f"metric {definition['Name']!r}: regex {definition['Regex']!r} needs a "
                    "capture group for the value"
                )
        return value


class MetricPoint(BaseModel):
    """One value captured from the log.

    Attributes:
        name: The metric definition's Name.
        value: The first capture group, as a float.
        timestamp: Seconds since the epoch when the line was read.
        index: Position of this point in the metric's series (0, 1, 2...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: float
    timestamp: float
    index: int


class TrainingJobResult(BaseModel):
    """The outcome of :func:`~sagepipe.training.run_training_job`.

    Attributes:
        exit_code: The script's exit status (0 on success; first failing host's otherwise).
        failure_reason: ``output/failure`` if the script wrote it, else the traceback's
            tail; None on success.
        model_dir: ``model/`` of the first host (``algo-1``), the one SageMaker keeps.
        output_data_dir: ``output/data`` of the first host.
        checkpoint_dir: ``checkpoints/`` of the first host.
        metrics: Values matched by the metric definitions, in log order.
        unmatched_metrics: Names of metric definitions that never matched.
        log_path: The job's log file (all hosts; lines prefixed ``[algo-N]`` when N > 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    exit_code: int
    failure_reason: str | None
    model_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path
    metrics: list[MetricPoint]
    unmatched_metrics: list[str]
    log_path: Path

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0
