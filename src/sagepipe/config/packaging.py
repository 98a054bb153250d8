"""Config of the packaging step: model.tar.gz + inference code -> a servable model.tar.gz."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType, resolve_local_dir
from sagepipe.config.training import check_entry_point


class PackagingConfig(BasePipelineConfig):
    """Adds ``code/`` (the inference source dir and dependencies) to a model archive.

    Attributes:
        source_dir: Directory with the inference code (local path); required.
        inference_entry_point: Inference script; default ``inference.py``.
        dependencies: Extra local files or directories copied into ``code/``.
        compression_level: gzip level of the output, 1-9; default 6.
        processing_instance_type: Instance of the processing job on SageMaker.
        image_uri: The processing job's image, instead of the SDK's PyTorch 2.1.0 training
            image the step's script runs on; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "PackagingStep"

    source_dir: str
    inference_entry_point: str = Field(default="inference.py", min_length=1)
    dependencies: list[str] = Field(default_factory=list)
    compression_level: int = Field(default=6, ge=1, le=9)
    processing_instance_type: InstanceType = "ml.m5.large"
    image_uri: str | None = None

    @field_validator("source_dir")
    @classmethod
    def _resolve_source_dir(cls, value: str, info: ValidationInfo) -> str:
        if value.startswith("s3://"):
            raise ValueError("packaging needs a local source_dir to put into code/")
        return resolve_local_dir(value, info)

    @field_validator("dependencies")
    @classmethod
    def _resolve_dependencies(cls, value: list[str], info: ValidationInfo) -> list[str]:
        from pathlib import Path

        resolved = [resolve_local_dir(item, info) for item in value]
        missing = [item for item in resolved if not Path(item).exists()]
        if missing:
            raise ValueError(f"dependencies do not exist: {missing}")
        return resolved

    @model_validator(mode="after")
    def _check(self) -> PackagingConfig:
        check_entry_point(self.source_dir, self.inference_entry_point, "inference_entry_point")
        return self
