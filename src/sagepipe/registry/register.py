"""Registering a packaged model: the function the registration step calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sagepipe.registry.errors import RegistryError
from sagepipe.registry.models import ApprovalStatus, ModelPackage, ModelPackageInput
from sagepipe.registry.protocol import ModelRegistry

Metrics = Mapping[str, float] | Sequence[Mapping[str, Any]]


def normalise_metrics(metrics: Metrics | None) -> dict[str, float]:
    """Metric values by name, from a mapping or a training job's ``FinalMetricDataList``.

    A list holds ``{"MetricName": ..., "Value": ...}`` entries; a name given twice keeps its
    last value.

    Raises:
        RegistryError: an entry is not shaped like that, or a value is not a number.
    """
    if metrics is None:
        return {}
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    else:
        items = []
        for entry in metrics:
            if not isinstance(entry, Mapping) or not {"MetricName", "Value"} <= set(entry):
                raise RegistryError(
                    f"metric {entry!r} is not a FinalMetricDataList entry "
                    "({'MetricName': ..., 'Value': ...})"
                )
            items.append((entry["MetricName"], entry["Value"]))
    values: dict[str, float] = {}
    for name, value in items:
        try:
            values[str(name)] = float(value)
        except (TypeError, ValueError):
            raise RegistryError(f"metric {name!r} has the value {value!r}, not a number") from None
    return values


def register_model_version(
    registry: ModelRegistry,
    *,
    group: str,
    region: str,
    model_data_uri: str,
    image_uri: str,
    content_types: Sequence[str] = ("text/csv", "application/json"),
    response_types: Sequence[str] = ("application/json",),
    instance_types: Sequence[str] = ("ml.m5.large",),
    transform_instance_types: Sequence[str] = ("ml.m5.large",),
    approval_status: ApprovalStatus = "PendingManualApproval",
    metrics: Metrics | None = None,
    metrics_uri: str | None = None,
    sample_payload_uri: str | None = None,
    description: str = "",
    domain: str | None = None,
    task: str | None = None,
    framework: str | None = None,
    framework_version: str | None = None,
    environment: Mapping[str, str] | None = None,
    customer_metadata: Mapping[str, str] | None = None,
) -> ModelPackage:
    """Register the next version of ``group`` in ``region`` (the group is created if absent).

    Args:
        registry: Where to register (a LocalRegistry or a SageMakerRegistry).
        group: The model package group.
        region: The region of this registration.
        model_data_uri: The packaged model.tar.gz.
        image_uri: The inference image.
        content_types: Request content types the model accepts.
        response_types: Response content types it produces.
        instance_types: Real-time inference instance types.
        transform_instance_types: Batch transform instance types.
        approval_status: The initial approval status.
        metrics: Metric values by name, or a training step's ``FinalMetricDataList``.
        metrics_uri: A metrics report on S3, if there is one.
        sample_payload_uri: The sample payload archive.
        description: Free text.
        domain, task, framework, framework_version: SageMaker metadata.
        environment: The container environment.
        customer_metadata: Extra key/value metadata.

    Returns:
        The registered version, as DescribeModelPackage shapes it.
    """
    request = ModelPackageInput(
        group=group,
        region=region,
        model_data_uri=model_data_uri,
        image_uri=image_uri,
        content_types=tuple(content_types),
        response_types=tuple(response_types),
        inference_instance_types=tuple(instance_types),
        transform_instance_types=tuple(transform_instance_types),
        approval_status=approval_status,
        description=description,
        metrics=normalise_metrics(metrics),
        metrics_uri=metrics_uri,
        sample_payload_uri=sample_payload_uri,
        domain=domain,
        task=task,
        framework=framework,
        framework_version=framework_version,
        environment=dict(environment or {}),
        customer_metadata=dict(customer_metadata or {}),
    )
    return registry.register(request)
