"""Resolving a step for its run: the values its expressions read, and its request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sagepipe.local.evaluation import EvaluationContext, evaluate
from sagepipe.local.layout import StepLayout, job_name, output_prefix
from sagepipe.local.protocol import OptMlMode, StepRequest
from sagepipe.local.records import ExecutionRecord
from sagepipe.pipeline import Pipeline, Step


@dataclass(frozen=True)
class ResolvedStep:
    """A step's config and inputs with every expression evaluated."""

    step: Step
    config: dict[str, Any]
    inputs: dict[str, Any]


def execution_context(
    pipeline: Pipeline, execution: ExecutionRecord, properties: dict[str, dict[str, Any]]
) -> EvaluationContext:
    """What expressions of this execution read now (``CurrentDateTime`` is now)."""
    region = next(
        (str(s.config["region"]) for s in pipeline.steps if "region" in s.config), "us-east-1"
    )
    arn = f"arn:aws:sagemaker:{region}:000000000000:pipeline/{pipeline.name.lower()}"
    return EvaluationContext(
        parameters=execution.parameters,
        properties=properties,
        execution={
            "PipelineExecutionId": execution.execution_id,
            "PipelineExecutionArn": f"{arn}/execution/{execution.execution_id}",
            "PipelineName": pipeline.name,
            "PipelineArn": arn,
            "StartDateTime": _iso(execution.start_time),
            "CurrentDateTime": _iso(time.time()),
        },
    )


def resolve_step(step: Step, context: EvaluationContext) -> ResolvedStep:
    """Evaluate the step's config and inputs.

    Raises:
        ExpressionEvaluationError: naming the step and the field or input.
    """
    config = evaluate(step.config, context, f"step {step.name!r} config")
    inputs = {
        name: evaluate(binding.value, context, f"step {step.name!r} input {name!r}")
        for name, binding in step.inputs.items()
    }
    return ResolvedStep(step, config, inputs)


@dataclass(frozen=True)
class RequestSettings:
    """Settings of every step request of one run."""

    home: Path
    storage: str
    opt_ml_mode: OptMlMode
    install_requirements: bool


def build_request(
    resolved: ResolvedStep,
    pipeline_name: str,
    execution_id: str,
    layout: StepLayout,
    settings: RequestSettings,
) -> StepRequest:
    """The request a step process runs from."""
    step, config = resolved.step, resolved.config
    return StepRequest(
        execution_id=execution_id,
        pipeline_name=pipeline_name,
        step_name=step.name,
        step_type=step.step_type,
        config=config,
        inputs=resolved.inputs,
        code=step.code.model_dump(mode="json") if step.code is not None else None,
        step_dir=str(layout.step_dir),
        output_prefix=output_prefix(
            config.get("bucket"), config.get("prefix"), pipeline_name, execution_id, step.name
        ),
        job_name=job_name(step.name, execution_id),
        home=str(settings.home),
        storage=settings.storage,
        opt_ml_mode=settings.opt_ml_mode,
        install_requirements=settings.install_requirements,
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()
