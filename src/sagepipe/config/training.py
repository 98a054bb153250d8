"""Config of the PyTorch training step."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.config.base import (
    BasePipelineConfig,
    ConfigModel,
    FrameworkVersion,
    InstanceType,
    PositiveInt,
    PyVersion,
    S3Uri,
    is_s3_uri,
    resolve_local_dir,
)
from sagepipe.config.hyperparameters import ModelHyperparameters

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def default_metric_definitions() -> list[dict[str, str]]:
    """Regexes for the four metrics the example training script prints each epoch."""
    return [
        {"Name": name, "Regex": f"{name}: {_NUMBER}"}
        for name in ("Train Loss", "Validation Loss", "Validation F1 Score", "Validation AUC ROC")
    ]


class MetricDefinition(ConfigModel):
    """One metric captured from the training log by regex (SageMaker's MetricDefinition)."""

    Name: str = Field(min_length=1, max_length=255)
    Regex: str = Field(min_length=1, max_length=500)

    @field_validator("Regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from None
        if compiled.groups < 1:
            raise ValueError(f"regex {value!r} needs one capture group for the metric value")
        return value


class PyTorchTrainingConfig(BasePipelineConfig):
    """A PyTorch training job (SageMaker's PyTorch estimator).

    The job has one input channel, ``data``, holding ``train/``, ``val/`` and ``test/``.

    Attributes:
        training_instance_type: SageMaker instance type; default ``ml.g5.12xlarge``.
        training_instance_count: Number of instances; default 1.
        training_volume_size: EBS volume size in GB; default 30.
        training_entry_point: Script run by the container; default ``train.py``.
        source_dir: Directory with the entry point (local path or ``s3://``); required.
        framework_version: PyTorch version of the container (a version or alias of the
            SageMaker SDK's image table, e.g. ``2.1.0`` or ``1.8``); required unless
            ``image_uri`` is set.
        py_version: Python tag of the container (``py310``); required unless ``image_uri``
            is set.
        hyperparameters: Passed to the script as ``--name value`` arguments.
        env: Extra environment variables of the job.
        metric_definitions: Regexes that capture metrics from the log.
        distribution: ``torch_distributed`` or ``pytorchddp`` to launch with torchrun.
        processes_per_host: Processes per host for distributed jobs (default: one per GPU,
            or 1 on CPU).
        max_runtime_seconds: Stopping condition; default 86400 (one day).
        checkpoint_s3_uri: Where ``/opt/ml/checkpoints`` is synced.
        output_path: Where ``model.tar.gz`` and ``output.tar.gz`` go.
        image_uri: The training image, instead of the SDK's PyTorch image of
            ``framework_version``/``py_version``; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "PyTorchTrainingStep"

    training_instance_type: InstanceType = "ml.g5.12xlarge"
    training_instance_count: PositiveInt = 1
    training_volume_size: PositiveInt = 30
    training_entry_point: str = Field(default="train.py", min_length=1)
    source_dir: str
    framework_version: FrameworkVersion | None = None
    py_version: PyVersion | None = None
    hyperparameters: ModelHyperparameters | None = None
    env: dict[str, str] = Field(default_factory=dict)
    metric_definitions: list[MetricDefinition] = Field(
        default_factory=lambda: [MetricDefinition(**m) for m in default_metric_definitions()]
    )
    distribution: Literal["torch_distributed", "pytorchddp"] | None = None
    processes_per_host: PositiveInt | None = None
    max_runtime_seconds: PositiveInt = 86400
    checkpoint_s3_uri: S3Uri | None = None
    output_path: S3Uri | None = None
    image_uri: str | None = None

    @field_validator("source_dir")
    @classmethod
    def _resolve_source_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("source_dir must be given")
        return resolve_local_dir(value, info)

    @model_validator(mode="after")
    def _check(self) -> PyTorchTrainingConfig:
        check_entry_point(self.source_dir, self.training_entry_point, "training_entry_point")
        names = [m.Name for m in self.metric_definitions]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"metric_definitions repeat the names {repeated}")
        if self.processes_per_host is not None and self.distribution is None:
            raise ValueError("processes_per_host needs distribution (torch_distributed)")
        if self.image_uri is None and (self.framework_version is None or self.py_version is None):
            raise ValueError(
                "framework_version and py_version are required to choose the PyTorch training "
                "image (e.g. framework_version: 2.1.0, py_version: py310), unless image_uri "
                "names the image"
            )
        return self


def check_entry_point(source_dir: str, entry_point: str, field: str) -> None:
    """A local source_dir must exist and contain the entry point script."""
    if is_s3_uri(source_dir):
        return
    root = Path(source_dir)
    if not root.is_dir():
        raise ValueError(f"source_dir {source_dir} does not exist or is not a directory")
    if not (root / entry_point).is_file():
        raise ValueError(
            f"{field} {entry_point!r} is not a file in source_dir {source_dir}; "
            "put the script there or change the entry point"
        )
