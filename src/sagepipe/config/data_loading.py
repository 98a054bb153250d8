"""Config of the data-loading step: the stand-in for Amazon-internal Cradle data loading."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType, resolve_data_source


class DataLoadingConfig(BasePipelineConfig):
    """Copies the files of a source (an S3 prefix or object, or a local path) to the step's
    ``data`` output, for a preprocessing step to read.

    This step stands in for the Amazon-internal Cradle data-loading step of the seed
    pipelines (``CradleDataLoadStep``), which sagepipe cannot provide: it loads data that
    already exists as files, it does not run queries.

    Attributes:
        source: ``s3://`` URI, ``file://`` URI or local path (a relative path is read from
            the config file's directory, else the working directory) of the data; a pipeline
            parameter may give it. ``None`` means the ``source`` input is given to the step
            explicitly (``create_step(source=...)``) or wired from a predecessor's output
            named ``source``.
        include: ``fnmatch`` patterns (``*`` also matches ``/``) of the relative paths to
            copy; default every file.
        processing_instance_type: Instance of the processing job on SageMaker.
        image_uri: The processing job's image, instead of the SDK's PyTorch 2.1.0 training
            image the step's script runs on; a local run needs one the SDK knows.
    """

    local_path_fields: ClassVar[frozenset[str]] = frozenset({"source"})

    step_type: ClassVar[str] = "DataLoadingStep"

    source: str | None = None
    include: list[str] = Field(default_factory=lambda: ["*"])
    processing_instance_type: InstanceType = "ml.m5.large"
    image_uri: str | None = None

    @field_validator("source")
    @classmethod
    def _resolve_local_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_data_source(value, info)

    @field_validator("include")
    @classmethod
    def _check_include(cls, value: list[str]) -> list[str]:
        if not value or not all(value):
            raise ValueError("include needs at least one non-empty pattern, e.g. ['*.csv']")
        return value
