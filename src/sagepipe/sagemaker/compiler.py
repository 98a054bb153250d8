"""IR -> SageMaker pipeline definition: offline, deterministic, validated.

The compiler reads the IR only (never the local engine, never user code). Each IR step
becomes one SageMaker step (an endpoint step becomes two), with:

* ``DependsOn``: the IR step's dependencies, sorted;
* ``CacheConfig`` ``{"Enabled": <step.cache>}`` for the step types SageMaker caches
  (Training, Processing, Transform);
* ``RetryPolicies`` for the step types SageMaker retries: service faults and throttling are
  retried for every such step (5 attempts, 1 s doubling), and a lack of instance capacity for
  jobs (3 attempts, 60 s doubling).

The definition is plain JSON with sorted keys (:meth:`CompiledPipeline.to_json`), so compiling
the same pipeline and code twice gives the same bytes. Nothing is uploaded: the files that
``submit`` must upload are listed in :attr:`CompiledPipeline.uploads`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Pipeline, Step
from sagepipe.sagemaker.context import CompileContext, Upload
from sagepipe.sagemaker.errors import CompileError, DefinitionValidationError
from sagepipe.sagemaker.steps import STEP_COMPILERS, CompiledStep
from sagepipe.sagemaker.target import CompileOptions, Target, resolve_target

DEFINITION_VERSION = "2020-12-01"
_SERVICE_RETRY: dict[str, JsonValue] = {
    "ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"],
    "IntervalSeconds": 1,
    "BackoffRate": 2.0,
    "MaxAttempts": 5,
}
_CAPACITY_RETRY: dict[str, JsonValue] = {
    "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
    "IntervalSeconds": 60,
    "BackoffRate": 2.0,
    "MaxAttempts": 3,
}
_JOB_TYPES = frozenset({"Training", "Processing", "Transform"})


@dataclass(frozen=True)
class CompiledPipeline:
    """A compiled pipeline.

    Attributes:
        definition: The pipeline definition (``Version``, ``Metadata``, ``Parameters``,
            ``PipelineExperimentConfig``, ``Steps``).
        target: Region, bucket, prefix and role it was compiled for.
        uploads: Code and local inputs ``submit`` uploads, sorted by URI.
        warnings: Things that compile but behave differently on SageMaker.
        apis: The API each step's ``Arguments`` is a request of, by step name.
    """

    definition: dict[str, JsonValue]
    target: Target
    uploads: tuple[Upload, ...]
    warnings: tuple[str, ...]
    apis: dict[str, str]

    def to_json(self) -> str:
        """The definition as deterministic JSON (sorted keys, two-space indent, newline)."""
        return json.dumps(self.definition, sort_keys=True, indent=2) + "\n"

    def compact_json(self) -> str:
        """The definition as sent to CreatePipeline: sorted keys, no spaces."""
        return json.dumps(self.definition, sort_keys=True, separators=(",", ":"))


def compile_pipeline(
    pipeline: Pipeline, options: CompileOptions | None = None, validate: bool = True
) -> CompiledPipeline:
    """Compile ``pipeline`` to a SageMaker pipeline definition.

    Args:
        pipeline: The IR.
        options: Overrides of region, role, bucket and prefix.
        validate: Check the definition against SageMaker's API model (see
            :mod:`sagepipe.sagemaker.validation`).

    Raises:
        CompileError: A step cannot be compiled (the message names it).
        DefinitionValidationError: The definition breaks the API's rules (every problem is
            listed, each with its step and JSON path).
    """
    pipeline.validate()
    ctx = CompileContext(pipeline, resolve_target(pipeline, options or CompileOptions()))
    compiled: list[CompiledStep] = []
    for step in pipeline.execution_order():
        compiler = STEP_COMPILERS.get(step.step_type)
        if compiler is None:
            raise CompileError(
                f"step {step.name!r} has step type {step.step_type!r}, which the SageMaker "
                f"compiler does not know; known: {', '.join(sorted(STEP_COMPILERS))}"
            )
        compiled.extend(compiler(ctx, step))
    definition: dict[str, JsonValue] = {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [p.definition() for p in sorted(pipeline.parameters, key=_name)],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [_step_json(pipeline.step(c.source), c) for c in compiled],
    }
    result = CompiledPipeline(
        definition=definition,
        target=ctx.target,
        uploads=tuple(ctx.uploads[uri] for uri in sorted(ctx.uploads)),
        warnings=tuple(ctx.warnings),
        apis={c.name: c.api for c in compiled},
    )
    if validate:
        from sagepipe.sagemaker.validation import validate_definition

        problems = validate_definition(result.definition, result.apis)
        if problems:
            raise DefinitionValidationError(problems)
    return result


def _step_json(step: Step, compiled: CompiledStep) -> JsonValue:
    data: dict[str, JsonValue] = {
        "Name": compiled.name,
        "Type": compiled.step_type,
        "Arguments": compiled.arguments,
    }
    depends_on = compiled.depends_on if compiled.depends_on is not None else step.depends_on
    if depends_on:
        data["DependsOn"] = list[JsonValue](sorted(depends_on))
    if compiled.cacheable:
        data["CacheConfig"] = {"Enabled": step.cache}
    if compiled.retryable:
        policies = [_SERVICE_RETRY]
        if compiled.step_type in _JOB_TYPES:
            policies.append(_CAPACITY_RETRY)
        data["RetryPolicies"] = [dict(p) for p in policies]
    return data


def _name(parameter: object) -> str:
    return str(getattr(parameter, "name", ""))
