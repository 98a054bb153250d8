"""The SageMaker Model Registry, through a boto3 SageMaker client.

Metric values have no field of their own in SageMaker (``ModelMetrics`` points at JSON reports
on S3), so they are recorded as customer metadata ``sagepipe:metric:<name>`` and read back
from there; a report URI, when given, becomes ``ModelMetrics.ModelQuality.Statistics``.
SageMaker keeps no approval history: ``ApprovalHistory`` stays empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sagepipe.registry.arn import parse_package_arn
from sagepipe.registry.errors import ModelPackageNotFoundError, RegistryError
from sagepipe.registry.models import (
    ApprovalStatus,
    InferenceSpecification,
    MetricsSource,
    ModelPackage,
    ModelPackageGroup,
    ModelPackageInput,
    ModelPackageSummary,
)

METRIC_PREFIX = "sagepipe:metric:"
_MAX_METADATA = 50  # SageMaker's limit on CustomerMetadataProperties entries


class SageMakerRegistry:
    """A :class:`~sagepipe.registry.protocol.ModelRegistry` on SageMaker.

    Args:
        client: A boto3 ``sagemaker`` client; its region is the registry's region.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.region: str = client.meta.region_name

    def create_group(self, name: str, region: str, description: str = "") -> ModelPackageGroup:
        self._check_region(region)
        try:
            return self.describe_group(name, region)
        except ModelPackageNotFoundError:
            pass  # absent: create it below
        request: dict[str, Any] = {"ModelPackageGroupName": name}
        if description:
            request["ModelPackageGroupDescription"] = description
        self._call("create_model_package_group", **request)
        return self.describe_group(name, region)

    def describe_group(self, name: str, region: str) -> ModelPackageGroup:
        self._check_region(region)
        response = self._call("describe_model_package_group", ModelPackageGroupName=name)
        return self._group(response)

    def list_groups(self, region: str | None = None) -> list[ModelPackageGroup]:
        if region is not None and region != self.region:
            return []
        return [
            self._group(summary)
            for summary in self._pages(
                "list_model_package_groups", "ModelPackageGroupSummaryList", SortBy="Name"
            )
        ]

    def register(self, request: ModelPackageInput) -> ModelPackage:
        self._check_region(request.region)
        self.create_group(request.group, request.region)
        arguments = create_model_package_request(request)
        response = self._call("create_model_package", **arguments)
        return self.describe(response["ModelPackageArn"])

    def list_versions(self, group: str, region: str | None = None) -> list[ModelPackageSummary]:
        if region is not None:
            self._check_region(region)
        return [
            ModelPackageSummary(
                model_package_group_name=s.get("ModelPackageGroupName", group),
                model_package_version=s.get("ModelPackageVersion", 0),
                model_package_arn=s["ModelPackageArn"],
                model_package_description=s.get("ModelPackageDescription", ""),
                creation_time=s["CreationTime"],
                model_package_status=s["ModelPackageStatus"],
                model_approval_status=s.get("ModelApprovalStatus", "PendingManualApproval"),
            )
            for s in self._pages(
                "list_model_packages",
                "ModelPackageSummaryList",
                ModelPackageGroupName=group,
                SortBy="CreationTime",
                SortOrder="Ascending",
            )
        ]

    def describe(self, arn: str) -> ModelPackage:
        parse_package_arn(arn)
        return model_package_from_response(
            self._call("describe_model_package", ModelPackageName=arn), self.region
        )

    def update_approval(
        self, arn: str, status: ApprovalStatus, *, reason: str = "", by: str | None = None
    ) -> ModelPackage:
        request: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
        if reason:
            request["ApprovalDescription"] = reason
        self._call("update_model_package", **request)
        return self.describe(arn)

    # --- internals ------------------------------------------------------------------------

    def _check_region(self, region: str) -> None:
        if region != self.region:
            raise RegistryError(
                f"this SageMaker registry's client is in {self.region}, not {region}; create "
                f"one per region: SageMakerRegistry(boto3.client('sagemaker', region_name="
                f"{region!r}))"
            )

    def _call(self, operation: str, **arguments: Any) -> Any:
        from botocore.exceptions import ClientError

        method: Callable[..., Any] = getattr(self._client, operation)
        try:
            return method(**arguments)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = f"SageMaker {operation} failed: {error.get('Code')}: {error.get('Message')}"
            if error.get("Code") in ("ResourceNotFound", "ValidationException") and (
                "not exist" in str(error.get("Message", "")).lower()
                or "not found" in str(error.get("Message", "")).lower()
            ):
                raise ModelPackageNotFoundError(message) from None
            raise RegistryError(message) from None

    def _pages(self, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._call(operation, MaxResults=100, **arguments, **_token(token))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    def _group(self, response: dict[str, Any]) -> ModelPackageGroup:
        return ModelPackageGroup(
            model_package_group_name=response["ModelPackageGroupName"],
            model_package_group_arn=response["ModelPackageGroupArn"],
            model_package_group_description=response.get("ModelPackageGroupDescription", ""),
            creation_time=response["CreationTime"],
            model_package_group_status=response["ModelPackageGroupStatus"],
            region=self.region,
        )


def _token(token: str | None) -> dict[str, str]:
    return {"NextToken": token} if token else {}


def create_model_package_request(request: ModelPackageInput) -> dict[str, Any]:
    """The ``CreateModelPackage`` arguments for ``request``.

    Raises:
        RegistryError: more metadata entries than SageMaker allows.
    """
    spec = request.inference_specification().model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    for container in spec["Containers"]:
        if not container.get("Environment"):
            container.pop("Environment", None)
    for key in ("SupportedRealtimeInferenceInstanceTypes", "SupportedTransformInstanceTypes"):
        if not spec[key]:
            del spec[key]
    arguments: dict[str, Any] = {
        "ModelPackageGroupName": request.group,
        "InferenceSpecification": spec,
        "ModelApprovalStatus": request.approval_status,
    }
    if request.description:
        arguments["ModelPackageDescription"] = request.description
    if request.domain:
        arguments["Domain"] = request.domain
    if request.task:
        arguments["Task"] = request.task
    if request.sample_payload_uri:
        arguments["SamplePayloadUrl"] = request.sample_payload_uri
    if request.metrics_uri:
        statistics = MetricsSource(s3_uri=request.metrics_uri).model_dump(by_alias=True)
        arguments["ModelMetrics"] = {"ModelQuality": {"Statistics": statistics}}
    metadata = dict(request.customer_metadata)
    metadata.update({f"{METRIC_PREFIX}{k}": repr(float(v)) for k, v in request.metrics.items()})
    if len(metadata) > _MAX_METADATA:
        raise RegistryError(
            f"{len(metadata)} customer metadata entries (metrics included) exceed SageMaker's "
            f"limit of {_MAX_METADATA}; record fewer metrics or metadata"
        )
    if metadata:
        arguments["CustomerMetadataProperties"] = metadata
    return arguments


def model_package_from_response(response: dict[str, Any], region: str) -> ModelPackage:
    """A :class:`ModelPackage` from a ``DescribeModelPackage`` response."""
    metadata = dict(response.get("CustomerMetadataProperties", {}))
    metrics = {
        key[len(METRIC_PREFIX) :]: float(metadata.pop(key))
        for key in list(metadata)
        if key.startswith(METRIC_PREFIX)
    }
    statistics = response.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics")
    return ModelPackage(
        model_package_name=response["ModelPackageName"],
        model_package_group_name=response.get("ModelPackageGroupName", ""),
        model_package_version=response.get("ModelPackageVersion", 0),
        model_package_arn=response["ModelPackageArn"],
        model_package_description=response.get("ModelPackageDescription", ""),
        creation_time=response["CreationTime"],
        last_modified_time=response.get("LastModifiedTime"),
        inference_specification=_inference_specification(response["InferenceSpecification"]),
        model_package_status=response["ModelPackageStatus"],
        model_approval_status=response.get("ModelApprovalStatus", "PendingManualApproval"),
        approval_description=response.get("ApprovalDescription"),
        domain=response.get("Domain"),
        task=response.get("Task"),
        sample_payload_url=response.get("SamplePayloadUrl"),
        customer_metadata_properties=metadata,
        model_metrics=(
            MetricsSource(content_type=statistics["ContentType"], s3_uri=statistics["S3Uri"])
            if statistics
            else None
        ),
        metrics=metrics,
        region=region,
    )


def _inference_specification(spec: dict[str, Any]) -> InferenceSpecification:
    # Keep the fields the shape knows; SageMaker adds others (digests, data sources).
    fields = InferenceSpecification.model_fields
    container_fields = ("Image", "ModelDataUrl", "Framework", "FrameworkVersion", "Environment")
    known = {f.alias for f in fields.values()}
    data = {k: v for k, v in spec.items() if k in known}
    data["Containers"] = [
        {k: v for k, v in c.items() if k in container_fields} for c in spec.get("Containers", [])
    ]
    return InferenceSpecification.model_validate(data)
