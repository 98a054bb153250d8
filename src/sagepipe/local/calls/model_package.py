"""``CreateModelPackage`` (definition step type ``RegisterModel``), offline.

A version of ``ModelPackageGroupName`` (the group is created when missing, as SageMaker
Pipelines' RegisterModel does) goes into the local registry (``<SAGEPIPE_HOME>/registry.db``,
see :mod:`sagepipe.registry.local`) in the execution's region, with the request's
``InferenceSpecification`` (one container on the PyTorch inference image; its image, model
data, environment, framework, content types and instance types), ``ModelApprovalStatus``,
``ModelPackageDescription``, ``ModelMetrics`` (the ``ModelQuality.Statistics`` report),
``CustomerMetadataProperties``, ``SamplePayloadUrl``, ``Domain`` and ``Task``.
``DriftCheckBaselines`` and the other metrics reports are accepted and recorded in the
properties only.

Before registering, unless ``SkipModelValidation`` is ``All``, the package is validated as
SageMaker does it: served (see :mod:`sagepipe.local.calls.smoke`) and sent every sample of
``SamplePayloadUrl`` (a ``.tar.gz`` of payload files: sagepipe's payload archive, whose
manifest gives each file's content type, generated or user-supplied; or plain files sent as
the first ``SupportedContentTypes``), each answered 2xx; a failure names the file.
The properties are shaped like ``DescribeModelPackage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import local_archive, scratch
from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.inference import (
    check_container,
    inference_image_problem,
    serving_environment,
    string_map,
)
from sagepipe.local.errors import StepFailure

if TYPE_CHECKING:
    from sagepipe.local.calls.smoke import SamplePayload
    from sagepipe.registry import ModelPackage

SPEC = "InferenceSpecification"
_ECHOED = ("ModelMetrics", "DriftCheckBaselines", "SkipModelValidation", "Tags")


class CreateModelPackage:
    """Does locally what SageMaker's ``CreateModelPackage`` does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """No group (an unversioned package), not one container, or another image."""
        found = []
        if "ModelPackageGroupName" not in arguments:
            found.append(
                f"step {step_name!r}: the request has no ModelPackageGroupName; the local "
                "registry holds versioned model packages (give the group to register in)"
            )
        spec = arguments.get(SPEC)
        if not isinstance(spec, Mapping):
            found.append(f"step {step_name!r}: the request has no {SPEC}")
            return found
        containers = spec.get("Containers")
        if isinstance(containers, list) and len(containers) != 1:
            found.append(
                f"step {step_name!r}: {SPEC}.Containers holds {len(containers)} containers; "
                "the local registry serves one container per model package"
            )
        elif isinstance(containers, list) and isinstance(containers[0], Mapping):
            image = inference_image_problem(
                step_name, f"{SPEC}.Containers[0].Image", containers[0].get("Image")
            )
            if image is not None:
                found.append(image)
        return found

    def run(self, context: CallContext) -> StepOutcome:
        """Validate the package (the smoke test) and register it."""
        request = context.request
        spec = _mapping(request.get(SPEC), SPEC)
        containers = spec.get("Containers")
        if not isinstance(containers, list) or len(containers) != 1:
            raise StepFailure(f"{SPEC}.Containers must hold one container; got {containers!r}")
        field = f"{SPEC}.Containers[0]"
        container = _mapping(containers[0], field)
        checked = check_container(context, container, field)
        warnings = list(checked.warnings)
        environment = checked.environment
        content_types = _strings(spec, "SupportedContentTypes")
        response_types = _strings(spec, "SupportedResponseMIMETypes")
        payload_uri = request.get("SamplePayloadUrl")
        if payload_uri is not None and not isinstance(payload_uri, str):
            raise StepFailure(f"SamplePayloadUrl must be an s3:// URI; got {payload_uri!r}")
        if request.get("SkipModelValidation") == "All":
            context.log("sagepipe: smoke test skipped (SkipModelValidation All)")
        else:
            samples = _samples(context, payload_uri, content_types)
            _smoke_test(context, checked.archive, samples, response_types, environment)
            if not samples:
                warnings.append(
                    "no SamplePayloadUrl: the smoke test only checked that the package loads"
                )
        report_uri = _quality_report(request.get("ModelMetrics"))
        metrics = _report_metrics(context, report_uri, warnings) if report_uri else {}
        package = _register(context, container, spec, environment, payload_uri, metrics)
        context.log(
            f"sagepipe: registered {package.model_package_arn} "
            f"({package.model_approval_status}) in {context.home}"
        )
        properties = package.model_dump(by_alias=True, mode="json", exclude_none=True)
        properties.update({k: request[k] for k in _ECHOED if k in request})
        return StepOutcome(properties=properties, warnings=warnings)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StepFailure(f"{where} must be an object; got {value!r}")
    return value


def _strings(spec: Mapping[str, Any], key: str) -> list[str]:
    value = spec.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StepFailure(f"{SPEC}.{key} must be a list of strings; got {value!r}")
    return list(value)


def _samples(
    context: CallContext, payload_uri: str | None, content_types: list[str]
) -> list[SamplePayload]:
    """The sample payloads of ``SamplePayloadUrl`` (none without one)."""
    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.local.calls.smoke import SamplePayload

    if payload_uri is None:
        return []
    archive = local_archive(
        context.storage, payload_uri, scratch(context.layout.step_dir), "SamplePayloadUrl"
    )
    try:
        bodies = _payload_bodies(archive, content_types[0] if content_types else None)
    except ArtifactError as exc:
        raise StepFailure(f"the sample payloads {payload_uri} cannot be read: {exc}") from None
    return [
        SamplePayload(f"{name} of {payload_uri}", content_type, body)
        for name, content_type, body in bodies
    ]


def _payload_bodies(archive: Path, content_type: str | None) -> list[tuple[str, str, bytes]]:
    """``(name, content type, body)`` of each sample: by sagepipe's payload manifest when
    the archive has one, else every file as ``content_type``."""
    from sagepipe.artifacts.payload import MANIFEST, read_archive_files, read_payload_files

    files = read_archive_files(archive)
    if MANIFEST in files:
        return [(s.label, s.content_type, body) for s, body in read_payload_files(archive)]
    if content_type is None:
        raise StepFailure(
            "SamplePayloadUrl holds plain files but InferenceSpecification has no "
            "SupportedContentTypes to send them as; add one"
        )
    return [(f"{name} sample payload", content_type, body) for name, body in sorted(files.items())]


def _smoke_test(
    context: CallContext,
    archive: Path,
    samples: list[SamplePayload],
    response_types: list[str],
    environment: dict[str, str],
) -> None:
    from sagepipe.local.calls.smoke import smoke_test

    smoke_test(
        archive,
        samples,
        accept=response_types[0] if response_types else "application/json",
        environment=serving_environment(environment, context.home),
        server_log=context.layout.step_dir / "smoke-server.log",
        log=context.log,
    )


def _register(
    context: CallContext,
    container: Mapping[str, Any],
    spec: Mapping[str, Any],
    environment: dict[str, str],
    payload_uri: str | None,
    metrics: dict[str, float],
) -> ModelPackage:
    from sagepipe.registry import LocalRegistry, RegistryError, register_model_version
    from sagepipe.registry.local import REGISTRY_FILE

    request = context.request
    try:
        registry = LocalRegistry(context.home / REGISTRY_FILE)
        return register_model_version(
            registry,
            group=str(request["ModelPackageGroupName"]),
            region=context.region,
            model_data_uri=str(container["ModelDataUrl"]),
            image_uri=str(container["Image"]),
            content_types=_strings(spec, "SupportedContentTypes"),
            response_types=_strings(spec, "SupportedResponseMIMETypes"),
            instance_types=_strings(spec, "SupportedRealtimeInferenceInstanceTypes"),
            transform_instance_types=_strings(spec, "SupportedTransformInstanceTypes"),
            approval_status=request.get("ModelApprovalStatus") or "PendingManualApproval",
            metrics=metrics,
            metrics_uri=_quality_report(request.get("ModelMetrics")),
            sample_payload_uri=payload_uri,
            description=str(request.get("ModelPackageDescription") or ""),
            domain=request.get("Domain"),
            task=request.get("Task"),
            framework=container.get("Framework"),
            framework_version=container.get("FrameworkVersion"),
            environment=environment,
            customer_metadata=string_map(
                request.get("CustomerMetadataProperties"), "CustomerMetadataProperties"
            ),
        )
    except (RegistryError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise StepFailure(f"the model package cannot be registered: {reason}") from None


def _quality_report(metrics: object) -> str | None:
    """The URI of ``ModelMetrics.ModelQuality.Statistics``, the report the registry keeps."""
    node: object = metrics
    for key in ("ModelQuality", "Statistics", "S3Uri"):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


def _report_metrics(context: CallContext, uri: str, warnings: list[str]) -> dict[str, float]:
    """The metric values of a model quality report (``{"<group>": {"<name>": {"value": x}}}``,
    as SageMaker's model quality statistics are), for the registry's listing. SageMaker does
    not read the report when registering: one it cannot read is a warning."""
    import json

    from sagepipe.storage import StorageError

    try:
        with context.storage.open_read(uri) as reader:
            report = json.loads(reader.read())
    except (StorageError, OSError, ValueError) as exc:
        warnings.append(f"the model quality report {uri} cannot be read ({exc}); not listed")
        return {}
    values: dict[str, float] = {}
    groups = report.values() if isinstance(report, dict) else []
    for group in groups:
        if not isinstance(group, dict):
            continue
        for name, metric in group.items():
            value = metric.get("value") if isinstance(metric, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[str(name)] = float(value)
    return values
