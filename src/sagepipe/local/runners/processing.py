"""The processing runner: SageMaker's processing container contract, offline.

The work dir holds ``opt/ml/processing/input/<name>`` (each input downloaded),
``opt/ml/processing/input/code`` (the source dir), ``opt/ml/processing/output/<name>`` and
``opt/ml/config/{processingjobconfig,resourceconfig}.json``. The script runs as
``python <entry_point> <arguments>`` in the code dir; when it exits 0, each output dir is
uploaded and recorded as ``ProcessingOutputConfig.Outputs[<name>].S3Output.S3Uri``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import rewrite_opt_ml
from sagepipe.local.protocol import write_json
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import (
    copy_code,
    exit_reason,
    failure_with_tail,
    log_tail,
    materialise,
    run_script,
    script_environment,
)

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "ProcessingStep"
INPUT_ROOT = "/opt/ml/processing/input"
OUTPUT_ROOT = "/opt/ml/processing/output"
CODE_PATH = f"{INPUT_ROOT}/code"


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
        request, layout = context.request, context.layout
        config = request.config
        inputs: list[dict[str, Any]] = config.get("inputs") or []
        outputs: list[dict[str, Any]] = config.get("outputs") or []
        for item in inputs:
            name = item["name"]
            source = request.inputs.get(name, item.get("source"))
            if not isinstance(source, str) or not source:
                raise StepFailure(
                    f"processing input {name!r} has no source: give it a source in the config "
                    "or wire it from a predecessor's output of the same name"
                )
            dest = layout.container_path(item.get("destination") or f"{INPUT_ROOT}/{name}")
            files = materialise(context.storage, source, dest, f"processing input {name!r}")
            context.log(f"sagepipe: input {name!r}: {len(files)} file(s) from {source}")
        code_dir = copy_code(request, context.storage, layout.container_path(CODE_PATH))
        for item in outputs:
            output_dir(context, item).mkdir(parents=True, exist_ok=True)
        _write_job_config(context, inputs, outputs)

        arguments = [str(a) for a in config.get("arguments") or []]
        if context.opt_ml_mode == "rewrite":
            arguments = [rewrite_opt_ml(a, layout.opt_ml) for a in arguments]
        entry_point = str((request.code or {})["entry_point"])
        command = [sys.executable, entry_point, *arguments]
        env = script_environment(config.get("env") or {}, layout.opt_ml)
        start = layout.log.stat().st_size if layout.log.is_file() else 0
        context.log(f"sagepipe: running {' '.join(command[1:])}")
        code, seconds = run_script(command, code_dir, env, config.get("max_runtime_seconds"))
        if code != 0:
            tail = log_tail(layout.log, start)
            reason = exit_reason(f"processing script {entry_point}", code)
            raise StepFailure(failure_with_tail(reason, tail, layout.log))

        recorded: dict[str, Any] = {}
        uploaded: list[dict[str, Any]] = []
        for item in outputs:
            name = item["name"]
            uri = item.get("destination") or f"{request.output_prefix}/{name}"
            uris = context.uploader.upload_tree(output_dir(context, item), uri)
            context.log(f"sagepipe: output {name!r}: {len(uris)} file(s) to {uri}")
            uploaded.append({"uri": uri, "objects": len(uris)})
            recorded[name] = {
                "OutputName": name,
                "S3Output": {
                    "S3Uri": uri,
                    "LocalPath": container_output(item),
                    "S3UploadMode": "EndOfJob",
                },
            }
        properties = {
            "ProcessingJobName": request.job_name,
            "ProcessingJobArn": job_arn(config, "processing-job", request.job_name),
            "ProcessingJobStatus": "Completed",
            "ProcessingOutputConfig": {"Outputs": recorded},
        }
        return StepOutcome(properties=properties, outputs=uploaded, process_seconds=seconds)


def container_output(item: dict[str, Any]) -> str:
    return str(item.get("source") or f"{OUTPUT_ROOT}/{item['name']}")


def output_dir(context: StepContext, item: dict[str, Any]) -> Path:
    return context.layout.container_path(container_output(item))


def job_arn(config: dict[str, Any], kind: str, name: str) -> str:
    region = config.get("region") or "us-east-1"
    return f"arn:aws:sagemaker:{region}:000000000000:{kind}/{name.lower()}"


def _write_job_config(
    context: StepContext, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> None:
    request, config = context.request, context.request.config
    entry_point = (request.code or {}).get("entry_point")
    config_dir = context.layout.container_path("/opt/ml/config")
    config_dir.mkdir(parents=True, exist_ok=True)
    job = {
        "ProcessingJobName": request.job_name,
        "ProcessingInputs": [
            {
                "InputName": item["name"],
                "S3Input": {
                    "S3Uri": request.inputs.get(item["name"], item.get("source")),
                    "LocalPath": item.get("destination") or f"{INPUT_ROOT}/{item['name']}",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
            for item in inputs
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": item["name"],
                    "S3Output": {
                        "S3Uri": item.get("destination")
                        or f"{request.output_prefix}/{item['name']}",
                        "LocalPath": container_output(item),
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for item in outputs
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": config.get("processing_instance_count", 1),
                "InstanceType": config.get("processing_instance_type", "ml.m5.xlarge"),
                "VolumeSizeInGB": config.get("processing_volume_size", 30),
            }
        },
        "AppSpecification": {
            "ContainerEntrypoint": ["python3", f"{CODE_PATH}/{entry_point}"],
            "ContainerArguments": [str(a) for a in config.get("arguments") or []],
        },
        "Environment": config.get("env") or {},
        "RoleArn": config.get("role"),
        "StoppingCondition": {"MaxRuntimeInSeconds": config.get("max_runtime_seconds", 86400)},
    }
    write_json(config_dir / "processingjobconfig.json", job)
    write_json(config_dir / "resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"]})
