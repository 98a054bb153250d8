"""The endpoint runner: SageMaker's ``CreateEndpointConfig`` + ``CreateEndpoint``, offline.

The model is looked up by name in the run store (the model step put it there) and its
archive is downloaded into the step's directory; a named local endpoint (a detached
``sagepipe serve`` process, see :mod:`sagepipe.endpoints`) then serves it with the model's
container environment. It keeps running after the pipeline: ``sagepipe endpoints delete``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.archives import local_archive
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.model import scratch
from sagepipe.local.runners.processing import job_arn
from sagepipe.local.runners.transform import _model

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "EndpointStep"


class EndpointRunner:
    """Runs an ``EndpointStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if "model_name" not in step.inputs:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no 'model_name' input; give it "
                "explicitly or add an edge from a model step"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.endpoints import (
            IN_SERVICE,
            EndpointError,
            EndpointStore,
            create_endpoint,
            delete_endpoint,
            describe_endpoint,
        )

        request, config = context.request, context.request.config
        name = str(config["endpoint_name"])
        what = f"endpoint step {request.step_name!r}"
        model = _model(context, request.inputs.get("model_name"), what)
        archive = local_archive(context.storage, model.model_data_url, scratch(context), what)
        environment = dict(model.environment)
        # The code is the archive's code/ (the model step repacked it there).
        environment.pop("SAGEMAKER_SUBMIT_DIRECTORY", None)
        home = Path(context.request.home)
        with EndpointStore(home) as store:
            existing = store.find(name)
        if existing is not None and describe_endpoint(name, home).status == IN_SERVICE:
            # SageMaker's UpdateEndpoint: the new model replaces the old one.
            context.log(f"sagepipe: replacing the model of endpoint {name}")
            delete_endpoint(name, home)
        started = time.monotonic()
        try:
            record = create_endpoint(name, str(archive), environment=environment, home=home)
        except EndpointError as exc:
            raise StepFailure(str(exc)) from None
        context.log(f"sagepipe: endpoint {name} is InService at {record.url} ({model.name})")
        return StepOutcome(
            properties={
                "EndpointName": name,
                "EndpointArn": job_arn(config, "endpoint", name),
                "EndpointStatus": record.status,
                "EndpointConfigName": name,
            },
            process_seconds=time.monotonic() - started,
        )
