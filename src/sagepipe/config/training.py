"""Config of the PyTorch training step."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
from sagepipe.config.hyperparameters import ModelHyperparameters, check_free_form

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


# SageMaker's Channel.ChannelName rule.
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")
#: CreateTrainingJob accepts at most this many channels (InputDataConfig).
MAX_CHANNELS = 20
#: The ``hyperparameters_type`` a config file may name (subclasses: Python API only).
HYPERPARAMETER_TYPES: dict[str, type[ModelHyperparameters]] = {
    "ModelHyperparameters": ModelHyperparameters
}


class TrainingChannel(ConfigModel):
    """One named input channel of the training job (SageMaker's ``Channel``).

    The script finds it in ``SM_CHANNEL_<NAME>`` (``/opt/ml/input/data/<name>``); ``SM_CHANNELS``
    lists every channel.

    Attributes:
        name: Channel name (letters, digits, ``.``, ``-``, ``_``; at most 64); also the step's
            input name for wiring.
        source: ``s3://`` URI, ``file://`` URI or local path (a relative path is read from the
            config file's directory, else the working directory), or a pipeline parameter;
            ``None`` means the channel is wired from a predecessor's output of the same name or
            given in the pipeline's inputs.
        content_type: MIME type of the data (``ContentType``), passed to the script in
            ``SM_INPUT_DATA_CONFIG``.
        input_mode: ``File`` or ``FastFile``; default the job's ``File``.
        distribution: ``FullyReplicated`` (default) or ``ShardedByS3Key`` across instances.
    """

    local_path_fields: ClassVar[frozenset[str]] = frozenset({"source"})

    name: str
    source: str | None = None
    content_type: str | None = Field(default=None, min_length=1, max_length=256)
    input_mode: Literal["File", "FastFile"] | None = None
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _CHANNEL_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid channel name (1-64 letters, digits, '.', '-', '_')"
            )
        return value

    @field_validator("source")
    @classmethod
    def _resolve_local_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Absolute once, here: compile (which uploads it) and the local engine read the same
        # directory from anywhere.
        if value is None:
            return value
        if not value.strip():
            # An empty path would resolve to the config file's directory: the whole project.
            raise ValueError(
                "must not be empty; give an s3:// URI, a local path or a pipeline parameter, "
                "or leave source out to wire the channel from a step output of its name"
            )
        if "://" in value:
            return value
        return resolve_local_dir(value, info)


class _TypedMapping(dict[str, Any]):
    """A mapping that ``hyperparameters_type`` says is to be validated as typed."""


def _hyperparameters_kind(value: Any) -> str:
    # The tags name the branch in error locations: hyperparameters.free-form: ...
    typed = isinstance(value, (ModelHyperparameters, _TypedMapping))
    return "ModelHyperparameters" if typed else "free-form"


def _free_form(value: dict[str, Any]) -> dict[str, Any]:
    return check_free_form(value)


# Typed or free-form is decided by what is given, never by the keys: a ModelHyperparameters
# instance (Python) or a mapping with hyperparameters_type set (file) is typed; any other
# mapping is free-form.
Hyperparameters = Annotated[
    Annotated[ModelHyperparameters, Tag("ModelHyperparameters")]
    | Annotated[dict[str, Any], AfterValidator(_free_form), Tag("free-form")],
    Discriminator(_hyperparameters_kind),
]


class PyTorchTrainingConfig(BasePipelineConfig):
    """A PyTorch training job (SageMaker's PyTorch estimator).

    Inputs: the named ``channels``; without any, one channel ``data`` (the step's
    ``input_path`` input) holding ``train/``, ``val/`` and ``test/`` (the seed's layout).

    Hyperparameters are either free-form (a mapping of JSON values; a whole value may be a
    pipeline parameter) or typed (a :class:`ModelHyperparameters` instance, or a
    subclass; in a config file, ``hyperparameters_type: ModelHyperparameters``). Only what is
    set reaches the script: every free-form key; a typed instance's fields given explicitly.

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
        hyperparameters: Passed to the script as ``--name value`` arguments (each value
            JSON-encoded in the request, decoded by the training toolkit).
        hyperparameters_type: ``ModelHyperparameters`` to validate a mapping as the typed
            seed hyperparameters; set from the instance when one is given; ``None``:
            free-form.
        channels: Named input channels; empty means the one ``data`` channel.
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
    hyperparameters: Hyperparameters | None = None
    hyperparameters_type: str | None = None
    channels: list[TrainingChannel] = Field(default_factory=list)
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

    @model_validator(mode="before")
    @classmethod
    def _hyperparameters_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind, values = data.get("hyperparameters_type"), data.get("hyperparameters")
        if isinstance(values, ModelHyperparameters):
            name = type(values).__name__
            if kind is not None and kind != name:
                raise ValueError(
                    f"hyperparameters_type is {kind!r} but hyperparameters is a {name}; "
                    "drop hyperparameters_type (the instance says its type)"
                )
            return {**data, "hyperparameters_type": name}
        if kind is None:
            return data
        if kind not in HYPERPARAMETER_TYPES:
            raise ValueError(
                f"hyperparameters_type {kind!r} is unknown; a file can name "
                f"{', '.join(HYPERPARAMETER_TYPES)} (or leave it out for free-form "
                "hyperparameters); pass an instance for a subclass (Python API)"
            )
        if not isinstance(values, Mapping):
            raise ValueError(
                f"hyperparameters_type {kind!r} needs hyperparameters: a mapping of its fields"
            )
        return {**data, "hyperparameters": _TypedMapping(values)}

    @field_validator("source_dir")
    @classmethod
    def _resolve_source_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("source_dir must be given")
        return resolve_local_dir(value, info)

    @model_validator(mode="after")
    def _check(self) -> PyTorchTrainingConfig:
        names = [c.name for c in self.channels]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"channels repeat the names {repeated}")
        if len(names) > MAX_CHANNELS:
            raise ValueError(
                f"{len(names)} channels; CreateTrainingJob accepts at most {MAX_CHANNELS}"
            )
        check_entry_point(self.source_dir, self.training_entry_point, "training_entry_point")
        metrics = [m.Name for m in self.metric_definitions]
        repeated = sorted({n for n in metrics if metrics.count(n) > 1})
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
