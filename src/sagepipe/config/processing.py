"""Config of a processing step (a script run in the PyTorch framework container)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.config.base import (
    BasePipelineConfig,
    ConfigModel,
    InstanceType,
    PositiveInt,
    resolve_local_dir,
)
from sagepipe.config.training import check_entry_point

_CHANNEL = re.compile(r"^[A-Za-z0-9\.\-_]{1,256}$")
PROCESSING_ROOT = "/opt/ml/processing"


class ProcessingInput(ConfigModel):
    """One processing input.

    Attributes:
        name: Input name; the container path defaults to ``/opt/ml/processing/input/<name>``.
        source: ``s3://`` URI, ``file://`` URI or local path (a relative path is read from the
            config file's directory, else the working directory, as ``source_dir`` is);
            ``None`` means the input is wired from a predecessor's output of the same name (or
            given explicitly).
        destination: Container path, under ``/opt/ml/processing``.
    """

    local_path_fields: ClassVar[frozenset[str]] = frozenset({"source"})

    name: str
    source: str | None = None
    destination: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _CHANNEL.match(value):
            raise ValueError(f"{value!r} is not a valid name (letters, digits, . - _)")
        return value

    @field_validator("source")
    @classmethod
    def _resolve_local_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Made absolute here, once: compile (which uploads it) and the local engine (which
        # reads it from the step's process) then read the same directory from anywhere.
        if value is None or "://" in value:
            return value
        return resolve_local_dir(value, info)

    @property
    def container_path(self) -> str:
        return self.destination or f"{PROCESSING_ROOT}/input/{self.name}"


class ProcessingOutput(ConfigModel):
    """One processing output.

    Attributes:
        name: Output name; also its logical output name for wiring.
        source: Container path the script writes to; default
            ``/opt/ml/processing/output/<name>``.
        destination: ``s3://`` URI to upload to; default under the execution's prefix.
        output_type: Type used when wiring to later steps; default ``processing_output``.
    """

    name: str
    source: str | None = None
    destination: str | None = None
    output_type: str = "processing_output"

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _CHANNEL.match(value):
            raise ValueError(f"{value!r} is not a valid name (letters, digits, . - _)")
        return value

    @property
    def container_path(self) -> str:
        return self.source or f"{PROCESSING_ROOT}/output/{self.name}"


class ProcessingConfig(BasePipelineConfig):
    """A processing job running ``processing_entry_point`` from ``source_dir``.

    Attributes:
        processing_entry_point: Script to run; required.
        source_dir: Directory with the script (local path or ``s3://``); required.
        arguments: Command-line arguments passed to the script.
        processing_instance_type: Default ``ml.m5.xlarge``.
        processing_instance_count: Default 1.
        processing_volume_size: GB; default 30.
        max_runtime_seconds: Default 86400.
        inputs: Inputs, mounted under ``/opt/ml/processing/input/<name>``.
        outputs: Outputs, read from ``/opt/ml/processing/output/<name>``.
        env: Environment variables of the job.
        image_uri: The job's image, instead of the SDK's PyTorch training image of
            ``framework_version``/``py_version``; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "ProcessingStep"

    processing_entry_point: str = Field(min_length=1)
    source_dir: str
    arguments: list[str] = Field(default_factory=list)
    processing_instance_type: InstanceType = "ml.m5.xlarge"
    processing_instance_count: PositiveInt = 1
    processing_volume_size: PositiveInt = 30
    max_runtime_seconds: PositiveInt = 86400
    inputs: list[ProcessingInput] = Field(default_factory=list)
    outputs: list[ProcessingOutput] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    image_uri: str | None = None

    @field_validator("source_dir")
    @classmethod
    def _resolve_source_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("source_dir must be given")
        return resolve_local_dir(value, info)

    @model_validator(mode="after")
    def _check(self) -> ProcessingConfig:
        check_entry_point(self.source_dir, self.processing_entry_point, "processing_entry_point")
        for kind, items in (("inputs", self.inputs), ("outputs", self.outputs)):
            names = [item.name for item in items]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{kind} repeat the names {repeated}")
            paths = [item.container_path for item in items]
            for path in paths:
                if not path.startswith(PROCESSING_ROOT + "/"):
                    raise ValueError(f"{kind} path {path!r} must be under {PROCESSING_ROOT}/")
            if len(set(paths)) != len(paths):
                raise ValueError(f"{kind} use the same container path twice: {paths}")
        return self
