"""BatchTransformStep -> a ``Transform`` step (CreateTransformJob)."""

from __future__ import annotations

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.context import CompileContext, tags
from sagepipe.sagemaker.steps.common import CompiledStep, instance_type


def compile_transform(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    instance, _ = instance_type(ctx, step, "transform_instance_type")
    transform_input: dict[str, JsonValue] = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": ctx.input_value(step, "input_data"),
            }
        },
        "ContentType": config["content_type"],
        "SplitType": config["split_type"],
    }
    arguments: dict[str, JsonValue] = {
        "ModelName": ctx.input_value(step, "model_name"),
        "TransformInput": transform_input,
        "TransformOutput": {
            "S3OutputPath": config.get("output_path") or ctx.execution_uri(step.name),
            "Accept": config["accept"],
            "AssembleWith": config["assemble_with"],
        },
        "TransformResources": {
            "InstanceType": instance,
            "InstanceCount": config["transform_instance_count"],
        },
        "BatchStrategy": config["batch_strategy"],
        "MaxPayloadInMB": config["max_payload_mb"],
        "MaxConcurrentTransforms": config["max_concurrent_transforms"],
    }
    if config["join_source"] == "Input":
        arguments["DataProcessing"] = {"JoinSource": "Input"}
    if config.get("tags"):
        arguments["Tags"] = tags(step)
    return [
        CompiledStep(step.name, "Transform", "CreateTransformJob", arguments, step.name, True, True)
    ]
