"""``CreateEndpointConfig`` and ``CreateEndpoint`` (definition step types ``EndpointConfig``
and ``Endpoint``), offline.

An endpoint configuration names the model its one production variant serves (a local
endpoint is one server: several variants, shadow variants and asynchronous inference are
refused before anything runs; data capture has no local meaning and is recorded only). It is
kept as ``<SAGEPIPE_HOME>/endpoint-configs/<name>.json``, read by ``CreateEndpoint``.

``CreateEndpoint`` starts a named local endpoint (a detached ``sagepipe serve`` process, see
:mod:`sagepipe.endpoints`) serving the variant's model with the model's container
environment; an endpoint of that name that is already in service gets the new configuration,
as ``UpdateEndpoint`` would. It keeps running after the pipeline (``sagepipe endpoints
delete NAME`` stops it). The properties are shaped like ``DescribeEndpointConfig`` and
``DescribeEndpoint``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagepipe.local.calls.archives import local_archive, scratch
from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.common import job_arn
from sagepipe.local.calls.inference import find_model, served_environment
from sagepipe.local.errors import StepFailure

CONFIGS_DIR = "endpoint-configs"
_REFUSED = {
    "ShadowProductionVariants": "shadow variants",
    "AsyncInferenceConfig": "asynchronous inference",
}


def config_path(home: Path, name: str) -> Path:
    """Where the endpoint configuration ``name`` is kept."""
    return home / CONFIGS_DIR / f"{name}.json"


class CreateEndpointConfig:
    """Does locally what SageMaker's ``CreateEndpointConfig`` does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """Not exactly one production variant, shadow variants, asynchronous inference."""
        found = []
        variants = arguments.get("ProductionVariants")
        if isinstance(variants, list) and len(variants) != 1:
            found.append(
                f"step {step_name!r}: ProductionVariants holds {len(variants)} variants; a "
                "local endpoint serves one model: give one variant"
            )
        for key, what in _REFUSED.items():
            if arguments.get(key):
                found.append(f"step {step_name!r}: {key}: {what} have no local meaning")
        return found

    def run(self, context: CallContext) -> StepOutcome:
        """Check the variant's model exists and keep the configuration."""
        request = context.request
        name = request.get("EndpointConfigName")
        if not isinstance(name, str) or not name:
            raise StepFailure(f"EndpointConfigName is {name!r}; give the configuration a name")
        variant = _variant(request)
        model = find_model(
            context.home, variant.get("ModelName"), "ProductionVariants[0].ModelName"
        )
        properties: dict[str, Any] = {
            **{k: v for k, v in request.items() if k != "Tags"},
            "EndpointConfigName": name,
            "EndpointConfigArn": job_arn(context.region, "endpoint-config", name),
            "CreationTime": datetime.now(UTC).isoformat(),
        }
        path = config_path(context.home, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(properties, indent=2, sort_keys=True))
        os.replace(partial, path)
        context.log(f"sagepipe: endpoint configuration {name} serves model {model.name}")
        warnings = []
        if request.get("DataCaptureConfig"):
            warnings.append("DataCaptureConfig is recorded but not applied locally")
        return StepOutcome(properties=properties, warnings=warnings)


class CreateEndpoint:
    """Does locally what SageMaker's ``CreateEndpoint`` (or ``UpdateEndpoint``) does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """Nothing is refused before the configuration is read."""
        return []

    def run(self, context: CallContext) -> StepOutcome:
        """Start (or replace) the named local endpoint."""
        from sagepipe.endpoints import (
            IN_SERVICE,
            EndpointError,
            EndpointStore,
            create_endpoint,
            delete_endpoint,
            describe_endpoint,
        )

        request = context.request
        name = request.get("EndpointName")
        config_name = request.get("EndpointConfigName")
        if not isinstance(name, str) or not name:
            raise StepFailure(f"EndpointName is {name!r}; give the endpoint a name")
        config = _read_config(context.home, config_name)
        variant = _variant(config)
        model = find_model(
            context.home, variant.get("ModelName"), f"endpoint configuration {config_name}"
        )
        archive = local_archive(
            context.storage,
            model.model_data_url,
            scratch(context.layout.step_dir),
            f"model {model.name}",
        )
        with EndpointStore(context.home) as store:
            existing = store.find(name)
        if existing is not None and describe_endpoint(name, context.home).status == IN_SERVICE:
            context.log(f"sagepipe: updating endpoint {name} to configuration {config_name}")
            delete_endpoint(name, context.home)
        started = time.monotonic()
        try:
            record = create_endpoint(
                name,
                str(archive),
                environment=served_environment(model.environment),
                home=context.home,
            )
        except EndpointError as exc:
            raise StepFailure(str(exc)) from None
        context.log(f"sagepipe: endpoint {name} is InService at {record.url} ({model.name})")
        now = datetime.now(UTC).isoformat()
        return StepOutcome(
            properties={
                "EndpointName": name,
                "EndpointArn": job_arn(context.region, "endpoint", name),
                "EndpointConfigName": config_name,
                "EndpointStatus": record.status,
                "ProductionVariants": [
                    {
                        "VariantName": variant.get("VariantName", "AllTraffic"),
                        "CurrentInstanceCount": 1,
                        "DesiredInstanceCount": 1,
                    }
                ],
                "CreationTime": now,
                "LastModifiedTime": now,
            },
            process_seconds=time.monotonic() - started,
        )


def _variant(request: Mapping[str, Any]) -> Mapping[str, Any]:
    variants = request.get("ProductionVariants")
    if not isinstance(variants, list) or len(variants) != 1:
        raise StepFailure(
            f"ProductionVariants must hold one variant (a local endpoint serves one model); "
            f"got {variants!r}"
        )
    variant = variants[0]
    if not isinstance(variant, Mapping):
        raise StepFailure(f"ProductionVariants[0] must be an object; got {variant!r}")
    return variant


def _read_config(home: Path, name: object) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise StepFailure(f"EndpointConfigName is {name!r}; name an endpoint configuration")
    path = config_path(home, name)
    if not path.is_file():
        raise StepFailure(
            f"EndpointConfigName {name!r} is no endpoint configuration in {home}; create it "
            "first (an EndpointConfig step)"
        )
    config: dict[str, Any] = json.loads(path.read_text())
    return config
