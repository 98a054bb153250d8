"""Endpoint step."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.endpoint import EndpointConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification

STEP_TYPE = "EndpointStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Endpoint",
    dependencies=(
        DependencySpec(
            logical_name="model_name",
            accepted_types=("model_name",),
            description="The model to serve (from a model step)",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="endpoint_name",
            output_type="endpoint",
            property_path="EndpointName",
            description="Name of the endpoint",
        ),
    ),
)


class EndpointStepBuilder(StepBuilder):
    config_class: ClassVar[type[EndpointConfig]] = EndpointConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "Endpoint"

    config: EndpointConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION
