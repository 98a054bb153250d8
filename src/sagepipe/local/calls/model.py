"""``CreateModel`` (definition step types ``Model`` and ``CreateModel``), offline.

The request's container (``PrimaryContainer``, or the one container of ``Containers``) must
run SageMaker's PyTorch inference image in ``SingleModel`` mode; several containers (an
inference pipeline) are refused before anything runs. ``ExecutionRoleArn``, ``VpcConfig`` and
network isolation have no local meaning and are recorded only.

The model archive is checked as the container will read it (model files at the top level,
the ``SAGEMAKER_PROGRAM`` script under ``code/``, see :mod:`sagepipe.local.calls.inference`):
the classic extra-top-directory archive fails the step with the command that rebuilds it,
macOS junk is ignored with a warning. The model (name, image, model data, environment) goes
into the run store, where ``sagepipe serve MODEL_NAME``, transform jobs and endpoints find it
by name; the step's properties are shaped like ``DescribeModel``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.common import job_arn
from sagepipe.local.calls.inference import check_container, inference_image_problem
from sagepipe.local.errors import StepFailure

SINGLE_MODEL = "SingleModel"


class CreateModel:
    """Does locally what SageMaker's ``CreateModel`` does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """Several containers, no container, another image or a multi-model container."""
        containers = arguments.get("Containers")
        if isinstance(containers, list) and len(containers) > 1:
            return [
                f"step {step_name!r}: Containers holds {len(containers)} containers (an "
                "inference pipeline), which the local engine does not serve; give one "
                "container (PrimaryContainer)"
            ]
        container, field = _container(arguments)
        if container is None:
            return [f"step {step_name!r}: the request has no PrimaryContainer (or Containers)"]
        if not isinstance(container, Mapping):
            return []
        found = []
        image = inference_image_problem(step_name, f"{field}.Image", container.get("Image"))
        if image is not None:
            found.append(image)
        mode = container.get("Mode", SINGLE_MODEL)
        if isinstance(mode, str) and mode != SINGLE_MODEL:
            found.append(
                f"step {step_name!r}: {field}.Mode is {mode!r}; the local engine serves "
                f"{SINGLE_MODEL} containers"
            )
        return found

    def run(self, context: CallContext) -> StepOutcome:
        """Check the model archive and record the model."""
        container, field = _container(context.request)
        if not isinstance(container, Mapping):
            raise StepFailure(f"{field} must be an object; got {container!r}")
        checked = check_container(context, container, field)
        name = str(context.request.get("ModelName") or context.job_name)
        record_model(context, name, checked.image, checked.model_data_url, checked.environment)
        context.log(f"sagepipe: model {name}: {checked.image} serving {checked.model_data_url}")
        return StepOutcome(
            properties=_describe_model(context, name, field, container, checked.environment),
            warnings=checked.warnings,
        )


def record_model(
    context: CallContext,
    name: str,
    image: str,
    model_data_url: str,
    environment: dict[str, str],
) -> None:
    """Store the model in the run store (its one owner), found later by name."""
    from sagepipe.local.records import ModelRecord
    from sagepipe.local.store import RunStore

    record = ModelRecord(
        name=name,
        execution_id=context.execution_id,
        step_name=context.step_name,
        image=image,
        model_data_url=model_data_url,
        environment=environment,
        region=context.region,
        created_at=time.time(),
    )
    store = RunStore.open(context.home)
    try:
        store.add_model(record)
    finally:
        store.close()


def _container(request: Mapping[str, Any]) -> tuple[Any, str]:
    """The request's container and the field naming it."""
    if "PrimaryContainer" in request:
        return request["PrimaryContainer"], "PrimaryContainer"
    containers = request.get("Containers")
    if isinstance(containers, list) and containers:
        return containers[0], "Containers[0]"
    return None, "PrimaryContainer"


def _describe_model(
    context: CallContext,
    name: str,
    field: str,
    container: Mapping[str, Any],
    environment: dict[str, str],
) -> dict[str, Any]:
    """The properties, shaped like ``DescribeModel``."""
    described = {**container, "Environment": environment}
    described.setdefault("Mode", SINGLE_MODEL)
    properties: dict[str, Any] = {
        "ModelName": name,
        "ModelArn": job_arn(context.region, "model", name),
        "CreationTime": datetime.now(UTC).isoformat(),
        "EnableNetworkIsolation": bool(context.request.get("EnableNetworkIsolation", False)),
    }
    if field == "PrimaryContainer":
        properties["PrimaryContainer"] = described
    else:
        properties["Containers"] = [described]
    for key in ("ExecutionRoleArn", "VpcConfig", "InferenceExecutionConfig"):
        if key in context.request:
            properties[key] = context.request[key]
    return properties
