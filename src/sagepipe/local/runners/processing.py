"""The processing runner: a ``ProcessingStep``'s config as a CreateProcessingJob request, run
by the one local processing job (:class:`sagepipe.local.calls.processing.ProcessingJob`).

Kept until the engine executes definitions only: it copies the step's source dir (and
dependencies) into the step dir, names it as the ``code`` input, and records the outputs in
the shape this engine's IR references read (``Outputs`` keyed by name).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.base import CallContext
from sagepipe.local.calls.common import job_arn as call_job_arn
from sagepipe.local.calls.images import local_torch_version
from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import copy_code

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "ProcessingStep"
INPUT_ROOT = "/opt/ml/processing/input"
OUTPUT_ROOT = "/opt/ml/processing/output"
CODE_PATH = f"{INPUT_ROOT}/code"
_DEFAULT_REGION = "us-east-1"


class ProcessingRunner:
    """Runs a ``ProcessingStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if step.code is None:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no code; build it with "
                "ProcessingStepBuilder so it carries its source_dir and entry point"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.local.calls.processing import ProcessingJob

        request = context.request
        code_dir = copy_code(request, context.storage, context.layout.step_dir / "code")
        region = request.config.get("region") or _DEFAULT_REGION
        call = CallContext(
            step_name=request.step_name,
            step_type="Processing",
            request=_processing_request(context, str(code_dir), region),
            job_name=request.job_name,
            execution_id=request.execution_id,
            pipeline_name=request.pipeline_name,
            region=region,
            home=Path(request.home),
            layout=context.layout,
            storage=context.storage,
            uploader=context.uploader,
            log=context.log,
            opt_ml_mode=context.opt_ml_mode,
            record_metrics=context.record_metrics,
        )
        outcome = ProcessingJob().run(call)
        outputs = outcome.properties["ProcessingOutputConfig"]["Outputs"]
        outcome.properties = {
            "ProcessingJobName": request.job_name,
            "ProcessingJobArn": outcome.properties["ProcessingJobArn"],
            "ProcessingJobStatus": "Completed",
            "ProcessingOutputConfig": {"Outputs": {o["OutputName"]: o for o in outputs}},
        }
        return outcome


def _processing_request(context: StepContext, code_uri: str, region: str) -> dict[str, Any]:
    request, config = context.request, context.request.config
    inputs: list[dict[str, Any]] = []
    for item in config.get("inputs") or []:
        name = item["name"]
        source = request.inputs.get(name, item.get("source"))
        if not isinstance(source, str) or not source:
            raise StepFailure(
                f"processing input {name!r} has no source: give it a source in the config "
                "or wire it from a predecessor's output of the same name"
            )
        local = item.get("destination") or f"{INPUT_ROOT}/{name}"
        inputs.append(_s3_input(name, source, local))
    inputs.append(_s3_input("code", code_uri, CODE_PATH))
    outputs = [
        {
            "OutputName": item["name"],
            "S3Output": {
                "S3Uri": item.get("destination") or f"{request.output_prefix}/{item['name']}",
                "LocalPath": str(item.get("source") or f"{OUTPUT_ROOT}/{item['name']}"),
                "S3UploadMode": "EndOfJob",
            },
        }
        for item in config.get("outputs") or []
    ]
    entry_point = str((request.code or {})["entry_point"])
    return {
        "AppSpecification": {
            # The image of the local torch: these steps never asked for a framework version.
            "ImageUri": _local_image(region),
            "ContainerEntrypoint": ["python3", f"{CODE_PATH}/{entry_point}"],
            "ContainerArguments": [str(a) for a in config.get("arguments") or []],
        },
        "Environment": config.get("env") or {},
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": outputs},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": config.get("processing_instance_count", 1),
                "InstanceType": config.get("processing_instance_type", "ml.m5.xlarge"),
                "VolumeSizeInGB": config.get("processing_volume_size", 30),
            }
        },
        "RoleArn": config.get("role"),
        "StoppingCondition": {"MaxRuntimeInSeconds": config.get("max_runtime_seconds", 86400)},
    }


def _local_image(region: str) -> str:
    version = re.match(r"\d+\.\d+(?:\.\d+)?", local_torch_version() or "")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return (
        f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:"
        f"{version[0] if version else '2.1.0'}-cpu-{python}"
    )


def _s3_input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def job_arn(config: dict[str, Any], kind: str, name: str) -> str:
    """A local job's ARN in the region of a step config."""
    return call_job_arn(config.get("region") or _DEFAULT_REGION, kind, name)
