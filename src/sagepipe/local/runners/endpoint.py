"""The endpoint runner: the step's config as ``CreateEndpointConfig`` and ``CreateEndpoint``
requests, run by :mod:`sagepipe.local.calls.endpoint` (a named local endpoint that keeps
running after the pipeline: ``sagepipe endpoints delete``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagepipe.local.runners.base import StepContext, StepOutcome, call_context

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
        """The config as CreateEndpointConfig and CreateEndpoint requests, run by
        :mod:`sagepipe.local.calls.endpoint`."""
        from sagepipe.local.calls.endpoint import CreateEndpoint, CreateEndpointConfig

        request, config = context.request, context.request.config
        name = str(config["endpoint_name"])
        endpoint_config = {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {"VariantName": "AllTraffic", "ModelName": request.inputs.get("model_name")}
            ],
        }
        CreateEndpointConfig().run(call_context(context, "EndpointConfig", endpoint_config))
        endpoint = {"EndpointName": name, "EndpointConfigName": name}
        return CreateEndpoint().run(call_context(context, "Endpoint", endpoint))
