"""The batch transform runner: SageMaker's ``CreateTransformJob``, offline.

The model is looked up by name in the run store (the model step put it there), its archive
and the input objects are downloaded into the step's directory, and ``sagepipe transform``
runs the model's handler chain over them in a subprocess with the model's container
environment (the local engine never imports the server stack). The ``<name>.out`` objects
are uploaded under the job's output path, recorded as ``TransformOutput.S3OutputPath``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.archives import local_archive, required_input
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.model import scratch
from sagepipe.local.runners.processing import job_arn
from sagepipe.storage import StorageError

if TYPE_CHECKING:
    from sagepipe.local.records import ModelRecord
    from sagepipe.pipeline import Step

STEP_TYPE = "BatchTransformStep"
OUTPUT_NAME = "transform_output"
_REASON_LINES = 15


class TransformRunner:
    """Runs a ``BatchTransformStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        for name in ("model_name", "input_data"):
            if name not in step.inputs:
                raise PipelineDefinitionError(
                    f"step {step.name!r} ({STEP_TYPE}) has no {name!r} input; give it "
                    "explicitly or add an edge from a step that produces it"
                )

    def run(self, context: StepContext) -> StepOutcome:
        request, config = context.request, context.request.config
        what = f"transform step {request.step_name!r}"
        model = _model(context, request.inputs.get("model_name"), what)
        source = required_input(request.inputs, "input_data", what)
        archive = local_archive(context.storage, model.model_data_url, scratch(context), what)
        input_dir = context.layout.step_dir / "input"
        try:
            fetched = context.storage.get_prefix(source, input_dir)
        except StorageError as exc:
            raise StepFailure(f"{what} cannot read its input {source}: {exc}") from None
        if not fetched:
            raise StepFailure(f"{what}: the input {source} holds no objects to transform")
        output_dir = context.layout.step_dir / OUTPUT_NAME
        command = [
            sys.executable,
            "-m",
            "sagepipe",
            "transform",
            str(archive),
            "--input",
            str(input_dir),
            "--output",
            str(output_dir),
            *_options(config),
        ]
        context.log(f"sagepipe: transforming {len(fetched)} object(s) of {source} ({model.name})")
        started = time.monotonic()
        result = subprocess.run(
            command,
            env=_environment(model),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        for line in (result.stdout + result.stderr).splitlines():
            context.log(line)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-_REASON_LINES:]
            raise StepFailure(f"batch transform failed: {' '.join(tail) or 'no output'}")
        destination = str(config.get("output_path") or f"{request.output_prefix}/{OUTPUT_NAME}")
        uris = context.uploader.upload_tree(output_dir, destination)
        context.log(f"sagepipe: wrote {len(uris)} object(s) to {destination}")
        properties = {
            "TransformJobName": request.job_name,
            "TransformJobArn": job_arn(config, "transform-job", request.job_name),
            "TransformOutput": {
                "S3OutputPath": destination,
                "Accept": config.get("accept"),
                "AssembleWith": config.get("assemble_with"),
            },
        }
        return StepOutcome(
            properties=properties,
            outputs=[{"uri": destination, "objects": len(uris)}],
            process_seconds=seconds,
        )


def _options(config: dict[str, Any]) -> list[str]:
    """The transform job's settings as ``sagepipe transform`` options."""
    return [
        "--content-type",
        str(config.get("content_type") or "text/csv"),
        "--accept",
        str(config.get("accept") or "text/csv"),
        "--split-type",
        str(config.get("split_type") or "Line"),
        "--batch-strategy",
        str(config.get("batch_strategy") or "MultiRecord"),
        "--max-payload-mb",
        str(config.get("max_payload_mb", 6)),
        "--assemble-with",
        str(config.get("assemble_with") or "Line"),
        "--join-source",
        str(config.get("join_source") or "None"),
        "--max-concurrent",
        str(config.get("max_concurrent_transforms") or 1),
    ]


def _environment(model: ModelRecord) -> dict[str, str]:
    import os

    # The model's container environment, as SageMaker starts the container with it; the
    # code comes from the archive's code/ (the model step repacked it there).
    environment = {**os.environ, **model.environment, "PYTHONUNBUFFERED": "1"}
    environment.pop("SAGEMAKER_SUBMIT_DIRECTORY", None)
    return environment


def _model(context: StepContext, name: object, what: str) -> ModelRecord:
    from sagepipe.local.errors import ModelNotFoundError
    from sagepipe.local.store import RunStore

    if not isinstance(name, str) or not name:
        raise StepFailure(f"{what} has no model_name input; wire it from a model step")
    store = RunStore.open(Path(context.request.home))
    try:
        return store.model(name)
    except ModelNotFoundError:
        raise StepFailure(
            f"model {name!r} does not exist in the run store; run the model step that "
            "creates it first"
        ) from None
    finally:
        store.close()
