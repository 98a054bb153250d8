"""PyTorchTrainingStep -> a ``Training`` step (CreateTrainingJob for the PyTorch container).

Hyperparameters are written as the SageMaker SDK's PyTorch estimator writes them: every value
JSON-encoded (``"0.01"``, ``"\\"text\\""``, ``"[\\"a\\"]"``), a String parameter as itself and
other parameters as a ``Std:Join`` of one value; plus ``sagemaker_program``,
``sagemaker_submit_directory``, ``sagemaker_container_log_level``, ``sagemaker_region`` and,
for distributed jobs, ``sagemaker_torch_distributed_enabled`` or (``pytorchddp``, which the
SDK maps to SageMaker's data-parallel library) ``sagemaker_distributed_dataparallel_enabled``
with ``sagemaker_distributed_dataparallel_custom_mpi_options``, each with
``sagemaker_instance_type``.
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
    resources,
)

_LOG_LEVEL_INFO = 20


def compile_training(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    instance, concrete = instance_type(ctx, step, "training_instance_type")
    image = framework_image(ctx, step, "training", concrete)
    algorithm: dict[str, JsonValue] = {
        "TrainingImage": image,
        "TrainingInputMode": "File",
        "EnableSageMakerMetricsTimeSeries": True,
    }
    if config["metric_definitions"]:
        algorithm["MetricDefinitions"] = [
            {"Name": m["Name"], "Regex": m["Regex"]} for m in config["metric_definitions"]
        ]
    arguments: dict[str, JsonValue] = {
        "AlgorithmSpecification": algorithm,
        "HyperParameters": hyperparameters(ctx, step, instance),
        "OutputDataConfig": {
            "S3OutputPath": config.get("output_path") or ctx.target.uri("training", step.name)
        },
        "ResourceConfig": resources(
            instance, config["training_instance_count"], config["training_volume_size"]
        ),
        "StoppingCondition": {"MaxRuntimeInSeconds": config["max_runtime_seconds"]},
        "RoleArn": ctx.role(step),
    }
    if "input_path" in step.inputs:
        arguments["InputDataConfig"] = [
            {
                "ChannelName": "data",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": ctx.input_value(step, "input_path"),
                    }
                },
            }
        ]
    if config.get("checkpoint_s3_uri"):
        arguments["CheckpointConfig"] = {"S3Uri": config["checkpoint_s3_uri"]}
    if config.get("env"):
        arguments["Environment"] = dict(sorted(config["env"].items()))
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


def hyperparameters(ctx: CompileContext, step: Step, instance: JsonValue) -> JsonValue:
    """The job's string-valued hyperparameters (see the module docstring)."""
    config = step.config
    user: dict[str, Any] = config.get("hyperparameters") or {}
    values: dict[str, JsonValue] = {key: encode(ctx, value) for key, value in user.items()}
    values.update(
        {
            "sagemaker_program": json.dumps(code_of(step).entry_point),
            "sagemaker_submit_directory": json.dumps(submit_directory(ctx, step)),
            "sagemaker_container_log_level": json.dumps(_LOG_LEVEL_INFO),
            "sagemaker_region": json.dumps(ctx.target.region),
        }
    )
    distribution = config.get("distribution")
    if distribution == "torch_distributed":
        values["sagemaker_torch_distributed_enabled"] = "true"
    elif distribution == "pytorchddp":
        values["sagemaker_distributed_dataparallel_enabled"] = "true"
        values["sagemaker_distributed_dataparallel_custom_mpi_options"] = json.dumps("")
    if distribution is not None:
        values["sagemaker_instance_type"] = encode(ctx, instance)
    return dict(sorted(values.items()))


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
