"""Config of the registration step (a model package in a model registry)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from sagepipe.config.base import BasePipelineConfig, Region

_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_MIME = re.compile(r"^[\w.+\-]+/[\w.+\-]+$")

ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]
ModelTask = Literal[
    "IMAGE_CLASSIFICATION",
    "OBJECT_DETECTION",
    "TEXT_GENERATION",
    "IMAGE_SEGMENTATION",
    "FILL_MASK",
    "CLASSIFICATION",
    "REGRESSION",
    "OTHER",
]


class RegistrationConfig(BasePipelineConfig):
    """Registers a packaged model as a model package version in each region.

    Attributes:
        model_package_group_name: Group the versions belong to; required.
        approval_status: Initial status; default ``PendingManualApproval``.
        regions: Regions to register in (one step each); default: the base ``region``.
        domain: ML domain metadata (e.g. ``MACHINE_LEARNING``).
        task: SageMaker task metadata (e.g. ``CLASSIFICATION``).
        framework: Framework metadata; default ``PYTORCH``.
        model_description: Free text.
        customer_metadata: Extra key/value metadata.
        content_types: Request content types the model accepts.
        response_types: Response content types it produces.
        inference_instance_types: Instance types it may be deployed on.
        transform_instance_types: Instance types it may run batch transform on.
        skip_smoke_test: Register without first serving the package and sending the samples.
        image_uri: The package's inference image (SageMaker SDK's ``RegisterModel``
            ``image_uri``), instead of the SDK's PyTorch inference image of
            ``framework_version``/``py_version``; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "RegistrationStep"

    model_package_group_name: str
    approval_status: ApprovalStatus = "PendingManualApproval"
    regions: list[Region] = Field(default_factory=list)
    domain: str = "MACHINE_LEARNING"
    task: ModelTask = "CLASSIFICATION"
    framework: str = "PYTORCH"
    model_description: str = Field(default="", max_length=1024)
    customer_metadata: dict[str, str] = Field(default_factory=dict)
    content_types: list[str] = Field(default_factory=lambda: ["text/csv", "application/json"])
    response_types: list[str] = Field(default_factory=lambda: ["application/json"])
    inference_instance_types: list[str] = Field(default_factory=lambda: ["ml.m5.large"])
    transform_instance_types: list[str] = Field(default_factory=lambda: ["ml.m5.large"])
    skip_smoke_test: bool = False
    image_uri: str | None = None

    @field_validator("model_package_group_name")
    @classmethod
    def _group_name(cls, value: str) -> str:
        if not _GROUP.match(value):
            raise ValueError(
                f"{value!r} is not a model package group name (1-63 letters, digits and "
                "hyphens, starting with a letter or digit)"
            )
        return value

    @field_validator("content_types", "response_types")
    @classmethod
    def _mime_types(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one MIME type")
        bad = [v for v in value if not _MIME.match(v)]
        if bad:
            raise ValueError(f"{bad} are not MIME types such as text/csv")
        if len(set(value)) != len(value):
            raise ValueError(f"repeats a type: {value}")
        return value

    @field_validator("inference_instance_types", "transform_instance_types")
    @classmethod
    def _instance_types(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not v.startswith("ml.")]
        if bad:
            raise ValueError(f"{bad} are not SageMaker instance types (ml.*)")
        return value

    @model_validator(mode="after")
    def _check(self) -> RegistrationConfig:
        if len(set(self.regions)) != len(self.regions):
            raise ValueError(f"regions repeat a region: {self.regions}")
        return self

    @property
    def effective_regions(self) -> list[str]:
        """The regions to register in: ``regions``, else the base ``region``."""
        return list(self.regions) or [self.region]
