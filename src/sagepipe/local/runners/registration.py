"""The registration runner: a model package version in the local model registry.

The step registers the packaged model (``packaged_model``: the packaging output prefix, whose
``model.tar.gz`` is registered, or an archive object) in its own region of the local registry
(``<SAGEPIPE_HOME>/registry.db``), with the sample payload archive (``payload_sample``), the
model metrics (``metrics``: a training step's ``FinalMetricDataList``, or the URI of a metrics
report, written as a model quality report for a ``FinalMetricDataList``) and the config's
metadata, as a CreateModelPackage request that
:class:`~sagepipe.local.calls.model_package.CreateModelPackage` runs (the smoke test unless
``skip_smoke_test``, the registry). An unchanged registration (same package, payloads,
metrics and settings) is served from the cache and keeps its version, so rerunning a pipeline
does not pile up identical versions; ``--no-cache`` registers a new one, as SageMaker's
uncached RegisterModel does on every execution.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import child_uri, find_archive
from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome, call_context
from sagepipe.local.runners.common import optional_input, required_input
from sagepipe.local.runners.model import inference_image
from sagepipe.local.runners.packaging import PACKAGED_ARCHIVE, PACKAGING_NOTE

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "RegistrationStep"
PACKAGE_INPUT = "packaged_model"
PAYLOAD_INPUT = "payload_sample"
METRICS_INPUT = "metrics"
PAYLOAD_ARCHIVE = "payload.tar.gz"
DEFAULT_ENTRY_POINT = "inference.py"
CODE_DIRECTORY = "/opt/ml/model/code"


class RegistrationRunner:
    """Runs a ``RegistrationStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if PACKAGE_INPUT not in step.inputs:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no {PACKAGE_INPUT!r} input; wire it "
                "from a packaging step or give the packaged model.tar.gz"
            )

    def run(self, context: StepContext) -> StepOutcome:
        """The config as a CreateModelPackage request, run by :class:`CreateModelPackage`."""
        from sagepipe.local.calls.model_package import CreateModelPackage

        request, config = context.request, context.request.config
        what = f"registration step {request.step_name!r}"
        package_uri = find_archive(
            context.storage,
            required_input(request.inputs, PACKAGE_INPUT, what),
            PACKAGED_ARCHIVE,
            what,
        )
        region = str(config.get("region") or "us-east-1")
        instance_types = list(config.get("inference_instance_types") or [])
        container: dict[str, Any] = {
            "Image": inference_image(config, instance_types[0] if instance_types else None),
            "ModelDataUrl": package_uri,
            "Environment": package_environment(_entry_point(context, package_uri), region),
        }
        for key, field in (("framework", "Framework"), ("framework_version", "FrameworkVersion")):
            if config.get(key):
                container[field] = str(config[key])
        create_package: dict[str, Any] = {
            "ModelPackageGroupName": str(config["model_package_group_name"]),
            "InferenceSpecification": {
                "Containers": [container],
                "SupportedContentTypes": list(config.get("content_types") or []),
                "SupportedResponseMIMETypes": list(config.get("response_types") or []),
                "SupportedRealtimeInferenceInstanceTypes": instance_types,
                "SupportedTransformInstanceTypes": list(
                    config.get("transform_instance_types") or []
                ),
            },
            "ModelApprovalStatus": config.get("approval_status") or "PendingManualApproval",
            "ModelPackageDescription": str(config.get("model_description") or ""),
            "CustomerMetadataProperties": dict(config.get("customer_metadata") or {}),
            "SkipModelValidation": "All" if config.get("skip_smoke_test") else "None",
        }
        for key, field in (("domain", "Domain"), ("task", "Task")):
            if config.get(key):
                create_package[field] = config[key]
        payload_source = optional_input(request.inputs, PAYLOAD_INPUT, what)
        if payload_source:
            create_package["SamplePayloadUrl"] = find_archive(
                context.storage, payload_source, PAYLOAD_ARCHIVE, what
            )
        report = _metrics_report(context, request.inputs.get(METRICS_INPUT), what)
        if report is not None:
            create_package["ModelMetrics"] = {
                "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report}}
            }
        return CreateModelPackage().run(call_context(context, "RegisterModel", create_package))


def package_environment(entry_point: str, region: str) -> dict[str, str]:
    """The container environment of the package, as the compiler writes it."""
    return {
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_PROGRAM": entry_point,
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_SUBMIT_DIRECTORY": CODE_DIRECTORY,
    }


def _entry_point(context: StepContext, package_uri: str) -> str:
    """The entry point the packaging step put under ``code/`` (from its ``packaging.json``),
    else ``inference.py``, as the compiler assumes for a package of unknown origin."""
    note_uri = child_uri(package_uri.rsplit("/", 1)[0], PACKAGING_NOTE)
    if not context.storage.exists(note_uri):
        return DEFAULT_ENTRY_POINT
    with context.storage.open_read(note_uri) as reader:
        note = json.loads(reader.read())
    return str(note.get("entry_point") or DEFAULT_ENTRY_POINT)


def _metrics_report(context: StepContext, value: Any, what: str) -> str | None:
    """The URI of the model quality report of the ``metrics`` input: the report itself, or
    one written from a training step's ``FinalMetricDataList``."""
    from sagepipe.registry import RegistryError
    from sagepipe.registry.register import normalise_metrics

    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, (list, dict)):
        raise StepFailure(
            f"{what} input 'metrics' is {json.dumps(value)}; wire a training step's "
            "FinalMetricDataList or give the URI of a metrics report"
        )
    try:
        values = normalise_metrics(value)
    except RegistryError as exc:
        raise StepFailure(f"{what} input 'metrics': {exc}") from None
    report = context.layout.step_dir / "metrics" / "statistics.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    statistics = {name: {"value": number} for name, number in values.items()}
    report.write_text(json.dumps({"model_quality_metrics": statistics}, sort_keys=True))
    uri = f"{context.request.output_prefix}/metrics/statistics.json"
    context.uploader.upload_file(report, uri)
    return uri
