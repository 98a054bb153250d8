"""The registration runner: a model package version in the local model registry.

The step registers the packaged model (``packaged_model``: the packaging output prefix, whose
``model.tar.gz`` is registered, or an archive object) in its own region of the local registry
(``<SAGEPIPE_HOME>/registry.db``), with the sample payload archive (``payload_sample``), the
model metrics (``metrics``: a training step's ``FinalMetricDataList``, or the URI of a metrics
report) and the config's metadata. Before registering, unless ``skip_smoke_test``, the package
is served locally and must answer every sample payload (see
:mod:`sagepipe.local.runners.smoke`). An unchanged registration (same package, payloads,
metrics and settings) is served from the cache and keeps its version, so rerunning a pipeline
does not pile up identical versions; ``--no-cache`` registers a new one, as SageMaker's
uncached RegisterModel does on every execution.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.archives import (
    child_uri,
    find_archive,
    local_archive,
    optional_input,
    required_input,
)
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.model import inference_image, scratch
from sagepipe.local.runners.packaging import PACKAGED_ARCHIVE, PACKAGING_NOTE

if TYPE_CHECKING:
    from sagepipe.local.runners.smoke import SamplePayload
    from sagepipe.pipeline import Step
    from sagepipe.registry import ModelPackage

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
        from sagepipe.artifacts.errors import ArtifactError
        from sagepipe.artifacts.layout import validate_model_archive

        request, config = context.request, context.request.config
        what = f"registration step {request.step_name!r}"
        package_uri = find_archive(
            context.storage,
            required_input(request.inputs, PACKAGE_INPUT, what),
            PACKAGED_ARCHIVE,
            what,
        )
        archive = local_archive(context.storage, package_uri, scratch(context), what)
        entry_point = _entry_point(context, package_uri)
        try:
            validate_model_archive(archive, entry_point=entry_point)
        except ArtifactError as exc:
            raise StepFailure(f"the packaged model {package_uri} cannot be served: {exc}") from None
        region = str(config.get("region") or "us-east-1")
        environment = package_environment(entry_point, region)
        instance_types = list(config.get("inference_instance_types") or [])
        image = inference_image(config, instance_types[0] if instance_types else None)
        metrics, metrics_uri = _metrics(request.inputs.get(METRICS_INPUT), what)
        payload_source = optional_input(request.inputs, PAYLOAD_INPUT, what)
        payload_uri = (
            find_archive(context.storage, payload_source, PAYLOAD_ARCHIVE, what)
            if payload_source
            else None
        )
        warnings = _smoke_test(context, archive, payload_uri, environment, what)
        package = _register(
            context,
            region=region,
            model_data_uri=package_uri,
            image_uri=image,
            environment=environment,
            metrics=metrics,
            metrics_uri=metrics_uri,
            sample_payload_uri=payload_uri,
        )
        context.log(
            f"sagepipe: registered {package.model_package_arn} "
            f"({package.model_approval_status}) in {context.request.home}"
        )
        properties = {
            "ModelPackageArn": package.model_package_arn,
            "ModelPackageName": package.model_package_name,
            "ModelPackageGroupName": package.model_package_group_name,
            "ModelPackageVersion": package.model_package_version,
            "ModelApprovalStatus": package.model_approval_status,
        }
        return StepOutcome(properties=properties, warnings=warnings)


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


def _smoke_test(
    context: StepContext,
    archive: Path,
    payload_uri: str | None,
    environment: dict[str, str],
    what: str,
) -> list[str]:
    """Serve the package and send it every sample (unless ``skip_smoke_test``); returns
    warnings."""
    from sagepipe.local.runners.smoke import smoke_test

    config = context.request.config
    if config.get("skip_smoke_test"):
        context.log("sagepipe: smoke test skipped (skip_smoke_test)")
        return []
    samples = _samples(context, payload_uri, what)
    smoke_test(
        archive,
        samples,
        accept=str((config.get("response_types") or ["application/json"])[0]),
        environment=environment,
        server_log=context.layout.step_dir / "smoke-server.log",
        log=context.log,
    )
    if not samples:
        return ["no sample payloads: the smoke test only checked that the package loads"]
    return []


def _samples(context: StepContext, payload_uri: str | None, what: str) -> list[SamplePayload]:
    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.artifacts.payload import read_payload_samples
    from sagepipe.local.runners.smoke import SamplePayload

    if payload_uri is None:
        return []
    archive = local_archive(context.storage, payload_uri, scratch(context), what)
    try:
        bodies = read_payload_samples(archive)
    except ArtifactError as exc:
        raise StepFailure(f"the sample payloads {payload_uri} cannot be read: {exc}") from None
    return [
        SamplePayload(f"{content_type} sample payload of {payload_uri}", content_type, body)
        for content_type, body in bodies.items()
    ]


def _metrics(value: Any, what: str) -> tuple[Any, str | None]:
    """``(metric values, metrics report URI)`` from the ``metrics`` input."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return None, value
    if isinstance(value, (list, dict)):
        return value, None
    raise StepFailure(
        f"{what} input 'metrics' is {json.dumps(value)}; wire a training step's "
        "FinalMetricDataList or give the URI of a metrics report"
    )


def _register(context: StepContext, **fields: Any) -> ModelPackage:
    from sagepipe.registry import LocalRegistry, RegistryError, register_model_version
    from sagepipe.registry.local import REGISTRY_FILE

    config = context.request.config
    registry = LocalRegistry(Path(context.request.home) / REGISTRY_FILE)
    try:
        return register_model_version(
            registry,
            group=str(config["model_package_group_name"]),
            content_types=list(config.get("content_types") or []),
            response_types=list(config.get("response_types") or []),
            instance_types=list(config.get("inference_instance_types") or []),
            transform_instance_types=list(config.get("transform_instance_types") or []),
            approval_status=config.get("approval_status") or "PendingManualApproval",
            description=str(config.get("model_description") or ""),
            domain=config.get("domain"),
            task=config.get("task"),
            framework=config.get("framework"),
            framework_version=config.get("framework_version"),
            customer_metadata=config.get("customer_metadata") or {},
            **fields,
        )
    except RegistryError as exc:
        raise StepFailure(f"the model package cannot be registered: {exc}") from None
