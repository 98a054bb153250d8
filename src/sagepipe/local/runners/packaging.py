"""The packaging runner: the model archive plus the inference code, as one servable archive.

The model archive (``model_input``: an object, or a prefix holding ``model.tar.gz``) is
streamed into ``model.tar.gz``, its model files byte for byte, with ``code/`` holding the
step's source dir and dependencies (see :func:`sagepipe.artifacts.package.package_model`).
As on SageMaker, the step's property
``ProcessingOutputConfig.Outputs['packaged_model'].S3Output.S3Uri`` is the output *prefix*;
the archive is ``<prefix>/model.tar.gz``, and consumers (payload, registration) look for it
there. Beside it, ``packaging.json`` says which entry point ``code/`` holds, so that the
registration step sets ``SAGEMAKER_PROGRAM`` as the compiler does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import find_archive, local_archive, scratch
from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import required_input
from sagepipe.local.runners.processing import job_arn

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "PackagingStep"
MODEL_INPUT = "model_input"
OUTPUT_NAME = "packaged_model"
PACKAGED_ARCHIVE = "model.tar.gz"
PACKAGING_NOTE = "packaging.json"


class PackagingRunner:
    """Runs a ``PackagingStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if step.code is None:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no code; build it with "
                "PackagingStepBuilder so it carries its source_dir and entry point"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.artifacts.errors import ArtifactError
        from sagepipe.artifacts.package import package_model

        request = context.request
        code = request.code or {}
        what = f"packaging step {request.step_name!r}"
        source = required_input(request.inputs, MODEL_INPUT, what)
        uri = find_archive(context.storage, source, PACKAGED_ARCHIVE, what)
        archive = local_archive(context.storage, uri, scratch(context.layout.step_dir), what)
        output_dir = context.layout.step_dir / OUTPUT_NAME
        output = output_dir / PACKAGED_ARCHIVE
        entry_point = str(code["entry_point"])
        try:
            report = package_model(
                archive,
                Path(code["source_dir"]),
                entry_point,
                [Path(d) for d in code.get("dependencies") or []],
                output,
                compression_level=int(request.config.get("compression_level") or 6),
            )
        except ArtifactError as exc:
            raise StepFailure(f"packaging {uri} failed: {exc}") from None
        for line in report.layout.summary().splitlines():
            context.log(f"sagepipe: {line}")
        note = {
            "entry_point": entry_point,
            "model_files": list(report.layout.model_files),
            "code_files": list(report.layout.code_files),
            "requirements": report.layout.requirements,
            "source": uri,
        }
        (output_dir / PACKAGING_NOTE).write_text(json.dumps(note, indent=2, sort_keys=True))
        prefix = f"{request.output_prefix}/{OUTPUT_NAME}"
        uris = context.uploader.upload_tree(output_dir, prefix)
        context.log(
            f"sagepipe: packaged {report.model_members} model member(s) and "
            f"{len(report.layout.code_files)} code file(s) in {report.seconds:.2f}s to "
            f"{prefix}/{PACKAGED_ARCHIVE}"
        )
        warnings = _warnings(report.duplicates, report.dropped_junk, report.replaced_code)
        return StepOutcome(
            properties=processing_properties(request.config, request.job_name, OUTPUT_NAME, prefix),
            outputs=[{"uri": prefix, "objects": len(uris)}],
            warnings=warnings,
            process_seconds=report.seconds,
        )


def processing_properties(
    config: dict[str, Any], job_name: str, output_name: str, prefix: str
) -> dict[str, Any]:
    """The ``DescribeProcessingJob`` properties of a built-in processing step with one output."""
    return {
        "ProcessingJobName": job_name,
        "ProcessingJobArn": job_arn(config, "processing-job", job_name),
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {
            "Outputs": {
                output_name: {
                    "OutputName": output_name,
                    "S3Output": {
                        "S3Uri": prefix,
                        "LocalPath": f"/opt/ml/processing/output/{output_name}",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            }
        },
    }


def _warnings(
    duplicates: tuple[str, ...], junk: tuple[str, ...], replaced: tuple[str, ...]
) -> list[str]:
    warnings = []
    if duplicates:
        warnings.append(
            f"the model archive repeats members {', '.join(duplicates)}; the last of each was kept"
        )
    if junk:
        warnings.append(f"dropped junk members of the model archive: {', '.join(junk)}")
    if replaced:
        warnings.append(
            f"the model archive already had code/ ({len(replaced)} member(s)); it was replaced"
        )
    return warnings
