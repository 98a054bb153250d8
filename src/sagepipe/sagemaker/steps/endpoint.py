"""EndpointStep -> an ``EndpointConfig`` step and an ``Endpoint`` step.

SageMaker Pipelines runs CreateEndpointConfig and CreateEndpoint (or UpdateEndpoint when the
endpoint exists) as the step types ``EndpointConfig`` and ``Endpoint``, as the SageMaker SDK's
``EndpointConfigStep`` and ``EndpointStep`` write them; no Lambda function is needed. The
endpoint step keeps the IR step's name (so ``Steps.<name>.EndpointName`` still refers to it);
the configuration step is ``<name>-Config``. Its name carries the execution id, so each run
creates a new configuration and the endpoint is updated to it.
"""

from __future__ import annotations

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.context import CompileContext, join, tags
from sagepipe.sagemaker.steps.common import CompiledStep, instance_type

CONFIG_SUFFIX = "-Config"
_NAME_ROOM = 63 - 1 - 12  # endpoint config names: 63 characters; execution ids: 12


def compile_endpoint(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    instance, _ = instance_type(ctx, step, "instance_type")
    endpoint_name = config["endpoint_name"]
    config_step = step.name + CONFIG_SUFFIX
    head = endpoint_name[:_NAME_ROOM] if isinstance(endpoint_name, str) else endpoint_name
    config_name = join("-", [head, {"Get": "Execution.PipelineExecutionId"}])
    endpoint_config: dict[str, JsonValue] = {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": ctx.input_value(step, "model_name"),
                "InitialInstanceCount": config["initial_instance_count"],
                "InstanceType": instance,
                "InitialVariantWeight": 1,
            }
        ],
    }
    endpoint: dict[str, JsonValue] = {
        "EndpointName": endpoint_name,
        "EndpointConfigName": {"Get": f"Steps.{config_step}.EndpointConfigName"},
    }
    if config.get("tags"):
        endpoint_config["Tags"] = tags(step)
        endpoint["Tags"] = tags(step)
    return [
        CompiledStep(
            config_step, "EndpointConfig", "CreateEndpointConfig", endpoint_config, step.name
        ),
        CompiledStep(
            step.name,
            "Endpoint",
            "CreateEndpoint",
            endpoint,
            step.name,
            depends_on=[config_step],
        ),
    ]
