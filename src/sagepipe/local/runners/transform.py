"""The batch transform runner: the step's config as a ``CreateTransformJob`` request, run by
:class:`~sagepipe.local.calls.transform.TransformJob`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagepipe.local.runners.base import StepContext, StepOutcome, call_context
from sagepipe.local.runners.common import required_input

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "BatchTransformStep"
OUTPUT_NAME = "transform_output"


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
        """The config as a CreateTransformJob request, run by :class:`TransformJob`."""
        from sagepipe.local.calls.transform import TransformJob

        request, config = context.request, context.request.config
        what = f"transform step {request.step_name!r}"
        source = required_input(request.inputs, "input_data", what)
        destination = str(config.get("output_path") or f"{request.output_prefix}/{OUTPUT_NAME}")
        transform = {
            "ModelName": request.inputs.get("model_name"),
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                "ContentType": str(config.get("content_type") or "text/csv"),
                "SplitType": str(config.get("split_type") or "Line"),
            },
            "TransformOutput": {
                "S3OutputPath": destination,
                "Accept": str(config.get("accept") or "text/csv"),
                "AssembleWith": str(config.get("assemble_with") or "Line"),
            },
            "BatchStrategy": str(config.get("batch_strategy") or "MultiRecord"),
            "MaxPayloadInMB": config.get("max_payload_mb", 6),
            "MaxConcurrentTransforms": config.get("max_concurrent_transforms") or 1,
            "DataProcessing": {"JoinSource": str(config.get("join_source") or "None")},
        }
        return TransformJob().run(call_context(context, "Transform", transform))
