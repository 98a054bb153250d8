"""PyTorchTrainingStep -> a ``Training`` step (CreateTrainingJob for the PyTorch container).

The request and its hyperparameters come from the one builder,
:mod:`sagepipe.sagemaker.training_request`; here the step's config is read and pipeline
parameters encoded: a String parameter as itself, others as a ``Std:Join`` of one value.
"""

from __future__ import annotations

import json
from typing import Any

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.bundles import Bundle, dependency_files, directory_files
from sagepipe.sagemaker.context import CompileContext, is_expression, join, tags
from sagepipe.sagemaker.errors import CompileError
from sagepipe.sagemaker.steps.common import (
    CompiledStep,
    code_of,
    framework_image,
    instance_type,
    local_dir,
    parameter_type,
)
from sagepipe.sagemaker.training_request import (
    create_training_job_request,
    s3_channel,
    training_hyperparameters,
)

# TrainingChannel field -> its key in a Channel (or S3DataSource) of the request.
CHANNEL_OPTIONS = {
    "content_type": "ContentType",
    "input_mode": "InputMode",
    "distribution": "S3DataDistributionType",
}


def compile_training(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    instance, concrete = instance_type(ctx, step, "training_instance_type")
    channels = job_channels(ctx, step)
    arguments = create_training_job_request(
        image=framework_image(ctx, step, "training", concrete),
        hyperparameters=hyperparameters(ctx, step, instance),
        output_path=config.get("output_path") or ctx.target.uri("training", step.name),
        instance_type=instance,
        instance_count=config["training_instance_count"],
        volume_size=config["training_volume_size"],
        max_runtime_seconds=config["max_runtime_seconds"],
        role=ctx.role(step),
        channels=channels,
        metric_definitions=config["metric_definitions"],
        environment=config.get("env"),
        checkpoint_s3_uri=config.get("checkpoint_s3_uri"),
        metrics_time_series=True,
    )
    if config.get("tags"):
        arguments["Tags"] = tags(step)
    if config.get("processes_per_host") is not None:
        ctx.warn(
            step,
            "processes_per_host applies to local runs only; on SageMaker the PyTorch "
            "container starts one process per GPU",
        )
    return [
        CompiledStep(step.name, "Training", "CreateTrainingJob", arguments, step.name, True, True)
    ]


def job_channels(ctx: CompileContext, step: Step) -> list[JsonValue]:
    """``InputDataConfig``: the configured channels in order, or the seed's one ``data``
    channel (the ``input_path`` input)."""
    configured = step.config.get("channels") or []
    if not configured:
        if "input_path" not in step.inputs:
            return []
        return [s3_channel("data", ctx.input_value(step, "input_path"))]
    channels: list[JsonValue] = []
    for channel in configured:
        options = {
            key: channel[field]
            for field, key in CHANNEL_OPTIONS.items()
            if channel.get(field) is not None
        }
        name = channel["name"]
        channels.append(s3_channel(name, ctx.input_value(step, name), **options))
    return channels


def hyperparameters(ctx: CompileContext, step: Step, instance: JsonValue) -> dict[str, JsonValue]:
    """The job's string-valued hyperparameters (see the module docstring)."""
    config = step.config
    return training_hyperparameters(
        config.get("hyperparameters") or {},
        entry_point=code_of(step).entry_point,
        submit_directory=submit_directory(ctx, step),
        region=ctx.target.region,
        distribution=config.get("distribution"),
        instance_type=instance,
        encode=lambda value: encode(ctx, value),
    )


def encode(ctx: CompileContext, value: Any) -> JsonValue:
    """One hyperparameter value as a string (or a string-valued expression)."""
    if is_expression(value):
        kind = parameter_type(ctx, value)
        if kind is None or kind == "String":
            result: JsonValue = value
            return result
        return join("", [value])
    return json.dumps(value)


def submit_directory(ctx: CompileContext, step: Step) -> str:
    """The S3 URI of the job's ``sourcedir.tar.gz`` (the source dir and dependencies)."""
    code = code_of(step)
    if not code.is_local():
        if code.dependencies:
            raise CompileError(
                f"step {step.name!r}: dependencies need a local source_dir to be packed with"
            )
        return code.source_dir
    bundle = ctx.bundle(
        ("code", code.source_dir, code.dependencies),
        lambda: Bundle.of(
            [
                *directory_files(local_dir(step, code.source_dir)),
                *dependency_files(code.dependencies),
            ],
            code.source_dir,
        ),
    )
    return ctx.archive_uri(bundle)
