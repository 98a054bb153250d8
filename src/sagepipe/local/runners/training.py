"""The PyTorch training runner: a training job in the step process, with the SageMaker
training toolkit's contract provided by :mod:`sagepipe.training`.

Channels come from the step's inputs (``input_path`` is the ``data`` channel, any other
input is a channel of its own name). After the job, ``model/`` becomes ``model.tar.gz`` and
``output/data`` becomes ``output.tar.gz`` under ``<output_path>/<job name>/output/``;
checkpoints are synced to ``checkpoint_s3_uri`` and restored when the step runs again.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.records import MetricPoint
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import copy_code, exit_reason, materialise, with_log
from sagepipe.local.runners.processing import job_arn

if TYPE_CHECKING:
    from sagepipe.pipeline import Step
    from sagepipe.training import TrainingJobResult

STEP_TYPE = "PyTorchTrainingStep"
DATA_INPUT = "input_path"
DATA_CHANNEL = "data"


class TrainingRunner:
    """Runs a ``PyTorchTrainingStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if step.code is None:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no code; build it with "
                "PyTorchTrainingStepBuilder so it carries its source_dir and entry point"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.training import (
            TrainingJobSpec,
            host_layouts,
            make_archive,
            run_training_job,
        )

        request, layout = context.request, context.layout
        config = request.config
        channels = self._channels(context)
        source_dir = copy_code(request, context.storage, layout.step_dir / "code")
        checkpoint_uri = config.get("checkpoint_s3_uri")
        strings = sagemaker_hyperparameters(config.get("hyperparameters"))
        spec = TrainingJobSpec(
            job_name=request.job_name,
            source_dir=source_dir,
            entry_point=str((request.code or {})["entry_point"]),
            hyperparameters={name: toolkit_value(value) for name, value in strings.items()},
            channels=channels,
            env=config.get("env") or {},
            instance_type=config.get("training_instance_type", "ml.m5.xlarge"),
            instance_count=config.get("training_instance_count", 1),
            distribution=config.get("distribution"),
            processes_per_host=config.get("processes_per_host"),
            metric_definitions=config.get("metric_definitions") or [],
            max_runtime_seconds=config.get("max_runtime_seconds", 86400),
            install_requirements=request.install_requirements,
        )
        if checkpoint_uri:
            for host in host_layouts(spec, layout.opt_ml):
                self._restore_checkpoints(context, checkpoint_uri, host.checkpoints)
        started = time.monotonic()
        result = run_training_job(spec, layout.opt_ml, log=context.log)
        seconds = time.monotonic() - started
        points = [
            MetricPoint(request.step_name, m.name, m.value, m.timestamp, m.index)
            for m in result.metrics
        ]
        context.record_metrics(points)
        if checkpoint_uri:
            self._sync_checkpoints(context, result.checkpoint_dir, checkpoint_uri)
        warnings = [
            f"metric definition {name!r} never matched a line of the training log"
            for name in result.unmatched_metrics
        ]
        if result.exit_code != 0:
            for warning in warnings:
                context.log(f"sagepipe: warning: {warning}")
            reason = result.failure_reason or exit_reason("the training script", result.exit_code)
            raise StepFailure(with_log(reason, layout.log))
        outcome = self._upload(context, result, make_archive, points, warnings)
        outcome.process_seconds = seconds
        return outcome

    def _channels(self, context: StepContext) -> dict[str, Path]:
        channels: dict[str, Path] = {}
        root = context.layout.step_dir / "channels"
        if root.exists():
            shutil.rmtree(root)
        for name, value in sorted(context.request.inputs.items()):
            if value is None:
                continue
            channel = DATA_CHANNEL if name == DATA_INPUT else name
            if not isinstance(value, str):
                raise StepFailure(f"training input {name!r} must be a URI, got {json.dumps(value)}")
            files = materialise(context.storage, value, root / channel, f"channel {channel!r}")
            context.log(f"sagepipe: channel {channel!r}: {len(files)} file(s) from {value}")
            channels[channel] = root / channel
        return channels

    def _restore_checkpoints(self, context: StepContext, uri: str, local: Path) -> None:
        found = [i for i in context.storage.list(uri) if not i.is_prefix]
        if found:
            files = materialise(context.storage, uri, local, "checkpoint_s3_uri")
            context.log(f"sagepipe: restored {len(files)} checkpoint file(s) from {uri}")

    def _sync_checkpoints(self, context: StepContext, local: Path, uri: str) -> None:
        if not local.is_dir():
            return
        count = 0
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            relative = path.relative_to(local).as_posix()
            context.storage.put_file(path, f"{uri.rstrip('/')}/{relative}")
            count += 1
        context.log(f"sagepipe: synced {count} checkpoint file(s) to {uri}")

    def _upload(
        self,
        context: StepContext,
        result: TrainingJobResult,
        make_archive: Any,
        points: list[MetricPoint],
        warnings: list[str],
    ) -> StepOutcome:
        request = context.request
        output_path = str(request.config.get("output_path") or request.output_prefix).rstrip("/")
        job_output = f"{output_path}/{request.job_name}/output"
        archives = context.layout.step_dir / "archives"
        archives.mkdir(exist_ok=True)
        model_tar = make_archive(result.model_dir, archives / "model.tar.gz")
        output_tar = make_archive(result.output_data_dir, archives / "output.tar.gz")
        model_uri = f"{job_output}/model.tar.gz"
        context.uploader.upload_file(model_tar, model_uri)
        context.uploader.upload_file(output_tar, f"{job_output}/output.tar.gz")
        context.log(f"sagepipe: model: {model_uri}")
        final: dict[str, MetricPoint] = {}
        for point in points:
            final[point.name] = point
        properties = {
            "TrainingJobName": request.job_name,
            "TrainingJobArn": job_arn(request.config, "training-job", request.job_name),
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": model_uri},
            "OutputDataConfig": {"S3OutputPath": output_path},
            "HyperParameters": sagemaker_hyperparameters(request.config.get("hyperparameters")),
            "FinalMetricDataList": [
                {"MetricName": p.name, "Value": p.value, "Timestamp": p.timestamp}
                for p in final.values()
            ],
        }
        return StepOutcome(
            properties=properties,
            outputs=[
                {"uri": model_uri, "objects": 1},
                {"uri": f"{job_output}/output.tar.gz", "objects": 1},
            ],
            warnings=warnings,
        )


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
