"""The PyTorch training runner: a training job in the step process, with the SageMaker
training toolkit's contract provided by :mod:`sagepipe.training`.

Channels come from the step's inputs (``input_path`` is the ``data`` channel, any other
input is a channel of its own name). After the job, ``model/`` becomes ``model.tar.gz`` and
``output/data`` becomes ``output.tar.gz`` under ``<output_path>/<job name>/output/``;
checkpoints are synced to ``checkpoint_s3_uri`` and restored when the step runs again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import copy_code

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "PyTorchTrainingStep"
DATA_INPUT = "input_path"
DATA_CHANNEL = "data"


class TrainingRunner:
    """Runs a ``PyTorchTrainingStep`` as the local CreateTrainingJob
    (:mod:`sagepipe.local.calls.training`) of the request its config describes."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if step.code is None:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no code; build it with "
                "PyTorchTrainingStepBuilder so it carries its source_dir and entry point"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.local.calls.base import CallContext
        from sagepipe.local.calls.training import run_training_step

        request, layout = context.request, context.layout
        code = copy_code(request, context.storage, layout.step_dir / "source")
        region = str(request.config.get("region") or "us-east-1")
        call = CallContext(
            step_name=request.step_name,
            step_type="Training",
            request=_create_training_job(context, code.as_uri(), region),
            job_name=request.job_name,
            execution_id="",
            pipeline_name="",
            region=region,
            home=layout.step_dir,
            layout=layout,
            storage=context.storage,
            uploader=context.uploader,
            log=context.log,
            opt_ml_mode=context.opt_ml_mode,
            record_metrics=context.record_metrics,
            install_requirements=request.install_requirements,
        )
        return run_training_step(call, request.config.get("processes_per_host"))


def _create_training_job(context: StepContext, code_uri: str, region: str) -> dict[str, Any]:
    """The CreateTrainingJob request of the step's config, as the compiler writes it (this
    runner goes once the engine executes compiled definitions)."""
    request = context.request
    config = request.config
    hyperparameters = sagemaker_hyperparameters(config.get("hyperparameters"))
    hyperparameters.update(
        sagemaker_program=json.dumps(str((request.code or {})["entry_point"])),
        sagemaker_submit_directory=json.dumps(code_uri),
        sagemaker_region=json.dumps(region),
    )
    distribution = config.get("distribution")
    if distribution == "torch_distributed":
        hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
    elif distribution == "pytorchddp":
        hyperparameters["sagemaker_distributed_dataparallel_enabled"] = "true"
    channels = [
        {
            "ChannelName": DATA_CHANNEL if name == DATA_INPUT else name,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": value}},
        }
        for name, value in sorted(request.inputs.items())
        if value is not None
    ]
    for name, value in request.inputs.items():
        if value is not None and not isinstance(value, str):
            raise StepFailure(f"training input {name!r} must be a URI, got {json.dumps(value)}")
    version = str(config.get("framework_version") or "2.1.0")
    py_version = str(config.get("py_version") or "py310")
    create: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:"
            f"{version}-cpu-{py_version}",
            "TrainingInputMode": "File",
            "MetricDefinitions": config.get("metric_definitions") or [],
        },
        "HyperParameters": hyperparameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {
            "S3OutputPath": str(config.get("output_path") or request.output_prefix)
        },
        "ResourceConfig": {
            "InstanceType": config["training_instance_type"],
            "InstanceCount": config["training_instance_count"],
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": config["max_runtime_seconds"]},
        "Environment": config.get("env") or {},
    }
    if config.get("checkpoint_s3_uri"):
        create["CheckpointConfig"] = {"S3Uri": config["checkpoint_s3_uri"]}
    return create


def toolkit_value(text: str) -> Any:
    """A hyperparameter as the training toolkit reads it: JSON-decoded when it is JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def sagemaker_hyperparameters(values: dict[str, Any] | None) -> dict[str, str]:
    """SageMaker's string-valued hyperparameters, as ``ModelHyperparameters.to_sagemaker``
    writes them: strings as they are, every other value as JSON."""
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in (values or {}).items()
    }
