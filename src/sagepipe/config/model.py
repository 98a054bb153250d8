"""Config of the PyTorch model step (SageMaker's PyTorchModel)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.config.base import (
    BasePipelineConfig,
    PositiveInt,
    resolve_local_dir,
)
from sagepipe.config.training import check_entry_point


class PyTorchModelConfig(BasePipelineConfig):
    """A SageMaker model served by the PyTorch inference container.

    ``framework_version`` and ``py_version`` come from the shared (base) fields and must be set,
    unless ``image_uri`` names the image.

    Attributes:
        inference_instance_type: Endpoint/transform instance type; default ``ml.m5.large``.
        inference_entry_point: Inference script (``model_fn``...); default ``inference.py``.
        source_dir: Directory with the inference script (local path or ``s3://``); required.
        initial_instance_count: Endpoint instance count; default 1.
        container_startup_health_check_timeout: Seconds; default 300.
        container_memory_limit: MB; default 6144.
        data_download_timeout: Seconds; default 900.
        inference_memory_limit: MB; default 6144; at most ``container_memory_limit``.
        max_concurrent_invocations: Per instance; default 10.
        max_payload_size: MB; default 6.
        image_uri: The inference image, instead of the SDK's PyTorch image of
            ``framework_version``/``py_version``; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "PyTorchModelStep"

    inference_instance_type: str = "ml.m5.large"
    inference_entry_point: str = "inference.py"
    source_dir: str
    initial_instance_count: PositiveInt = 1
    container_startup_health_check_timeout: PositiveInt = 300
    container_memory_limit: PositiveInt = 6144
    data_download_timeout: PositiveInt = 900
    inference_memory_limit: PositiveInt = 6144
    max_concurrent_invocations: PositiveInt = 10
    max_payload_size: int = Field(default=6, ge=1, le=100)
    image_uri: str | None = None

    @field_validator("source_dir")
    @classmethod
    def _resolve_source_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("source_dir must be given")
        return resolve_local_dir(value, info)

    @field_validator("inference_entry_point")
    @classmethod
    def _entry_point_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("inference_entry_point must be provided")
        return value

    @field_validator("inference_instance_type")
    @classmethod
    def _ml_instance(cls, value: str) -> str:
        if not value.startswith("ml."):
            raise ValueError(f"{value!r} must start with 'ml.' (e.g. ml.m5.large)")
        return value

    @model_validator(mode="after")
    def _check(self) -> PyTorchModelConfig:
        if self.image_uri is None and (self.framework_version is None or self.py_version is None):
            raise ValueError(
                "framework_version and py_version are inherited from the shared fields and "
                "must be set there (e.g. framework_version: 2.1.0, py_version: py310), unless "
                "image_uri names the image"
            )
        if self.inference_memory_limit > self.container_memory_limit:
            raise ValueError(
                f"inference_memory_limit ({self.inference_memory_limit} MB) exceeds "
                f"container_memory_limit ({self.container_memory_limit} MB)"
            )
        if self.container_startup_health_check_timeout > self.data_download_timeout:
            raise ValueError(
                "container_startup_health_check_timeout "
                f"({self.container_startup_health_check_timeout} s) exceeds "
                f"data_download_timeout ({self.data_download_timeout} s)"
            )
        check_entry_point(self.source_dir, self.inference_entry_point, "inference_entry_point")
        return self

    def container_environment(self) -> dict[str, str]:
        """The container environment SageMaker's PyTorch inference image is started with."""
        return {
            "MMS_DEFAULT_RESPONSE_TIMEOUT": str(self.container_startup_health_check_timeout),
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_PROGRAM": self.inference_entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_CONTAINER_MEMORY_LIMIT": str(self.container_memory_limit),
            "SAGEMAKER_MODEL_DATA_DOWNLOAD_TIMEOUT": str(self.data_download_timeout),
            "SAGEMAKER_INFERENCE_MEMORY_LIMIT": str(self.inference_memory_limit),
            "SAGEMAKER_MAX_CONCURRENT_INVOCATIONS": str(self.max_concurrent_invocations),
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(self.max_payload_size),
            "AWS_REGION": self.region,
        }


# The seed documents' spelling.
PytorchModelCreationConfig = PyTorchModelConfig
