"""The registry's shapes, mirroring SageMaker's DescribeModelPackage and friends.

Fields are snake_case in Python; ``model_dump(by_alias=True)`` gives SageMaker's names
(``ModelPackageArn``, ``InferenceSpecification``...). Three fields are sagepipe's own:
``Region``, ``Metrics`` (the metric values) and ``ApprovalHistory``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_pascal

ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]
APPROVAL_STATUSES: tuple[ApprovalStatus, ...] = ("PendingManualApproval", "Approved", "Rejected")
_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class Shape(BaseModel):
    """Base of the registry shapes: frozen, strict, SageMaker names as aliases."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_pascal, populate_by_name=True
    )


def check_group_name(value: str) -> str:
    """Validate a model package group name (SageMaker's rule)."""
    if not _GROUP.match(value):
        raise ValueError(
            f"{value!r} is not a model package group name (1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit)"
        )
    return value


class ModelPackageContainer(Shape):
    """One container of an inference specification."""

    image: str
    model_data_url: str
    framework: str | None = None
    framework_version: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)


class InferenceSpecification(Shape):
    """How the model package is served: containers, content types, instance types."""

    containers: tuple[ModelPackageContainer, ...]
    supported_content_types: tuple[str, ...] = ()
    supported_response_mime_types: tuple[str, ...] = Field(
        default=(), alias="SupportedResponseMIMETypes"
    )
    supported_realtime_inference_instance_types: tuple[str, ...] = ()
    supported_transform_instance_types: tuple[str, ...] = ()


class MetricsSource(Shape):
    """A metrics report on S3 (SageMaker's ``ModelMetrics.ModelQuality.Statistics``)."""

    content_type: str = "application/json"
    s3_uri: str


class ApprovalEvent(Shape):
    """One change of approval status: who, when, from, to, why."""

    from_status: ApprovalStatus | None = Field(alias="From")
    to_status: ApprovalStatus = Field(alias="To")
    by: str
    at: datetime
    reason: str = ""


class ModelPackageGroup(Shape):
    """A model package group (DescribeModelPackageGroup)."""

    model_package_group_name: str
    model_package_group_arn: str
    model_package_group_description: str = ""
    creation_time: datetime
    model_package_group_status: str = "Completed"
    region: str


class ModelPackageSummary(Shape):
    """One version in a listing (ListModelPackages' ModelPackageSummary)."""

    model_package_group_name: str
    model_package_version: int
    model_package_arn: str
    model_package_description: str = ""
    creation_time: datetime
    model_package_status: str = "Completed"
    model_approval_status: ApprovalStatus


class ModelPackage(Shape):
    """A registered model package version (DescribeModelPackage)."""

    model_package_name: str
    model_package_group_name: str
    model_package_version: int
    model_package_arn: str
    model_package_description: str = ""
    creation_time: datetime
    last_modified_time: datetime | None = None
    inference_specification: InferenceSpecification
    model_package_status: str = "Completed"
    model_approval_status: ApprovalStatus
    approval_description: str | None = None
    domain: str | None = None
    task: str | None = None
    sample_payload_url: str | None = None
    customer_metadata_properties: dict[str, str] = Field(default_factory=dict)
    model_metrics: MetricsSource | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    region: str
    approval_history: tuple[ApprovalEvent, ...] = ()

    def summary(self) -> ModelPackageSummary:
        """This version as a listing entry."""
        return ModelPackageSummary(
            model_package_group_name=self.model_package_group_name,
            model_package_version=self.model_package_version,
            model_package_arn=self.model_package_arn,
            model_package_description=self.model_package_description,
            creation_time=self.creation_time,
            model_package_status=self.model_package_status,
            model_approval_status=self.model_approval_status,
        )


class ModelPackageInput(BaseModel):
    """What registering a version takes (the registry fills in version, ARN and times).

    Attributes:
        group: The model package group (created when absent).
        region: The region to register in.
        model_data_uri: The packaged model.tar.gz.
        image_uri: The inference image.
        content_types: Request content types the model accepts.
        response_types: Response content types it produces.
        inference_instance_types: Real-time instance types it may be deployed on.
        transform_instance_types: Batch transform instance types.
        approval_status: Initial status.
        description: Free text.
        metrics: Metric values (e.g. the training job's final metrics).
        metrics_uri: A metrics report on S3 (SageMaker's ModelQuality statistics).
        sample_payload_uri: The sample payload archive.
        domain, task, framework, framework_version: SageMaker metadata.
        environment: The container environment.
        customer_metadata: Extra key/value metadata.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    region: str
    model_data_uri: str
    image_uri: str
    content_types: tuple[str, ...] = ("text/csv", "application/json")
    response_types: tuple[str, ...] = ("application/json",)
    inference_instance_types: tuple[str, ...] = ("ml.m5.large",)
    transform_instance_types: tuple[str, ...] = ("ml.m5.large",)
    approval_status: ApprovalStatus = "PendingManualApproval"
    description: str = Field(default="", max_length=1024)
    metrics: dict[str, float] = Field(default_factory=dict)
    metrics_uri: str | None = None
    sample_payload_uri: str | None = None
    domain: str | None = None
    task: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    customer_metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("group")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return check_group_name(value)

    def inference_specification(self) -> InferenceSpecification:
        """The inference specification this input describes."""
        return InferenceSpecification(
            containers=(
                ModelPackageContainer(
                    image=self.image_uri,
                    model_data_url=self.model_data_uri,
                    framework=self.framework,
                    framework_version=self.framework_version,
                    environment=dict(self.environment),
                ),
            ),
            supported_content_types=self.content_types,
            supported_response_mime_types=self.response_types,
            supported_realtime_inference_instance_types=self.inference_instance_types,
            supported_transform_instance_types=self.transform_instance_types,
        )
