"""Follow and describe pipeline executions: step statuses, progress lines, failure reasons."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagepipe.sagemaker.aws import call
from sagepipe.sagemaker.errors import AwsError

FINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped", "CompletedWithFailures"})


@dataclass(frozen=True)
class StepState:
    """One step of an execution as ListPipelineExecutionSteps reports it."""

    name: str
    status: str
    failure_reason: str
    cached: bool

    @classmethod
    def of(cls, raw: dict[str, Any]) -> StepState:
        return cls(
            name=str(raw.get("StepName", "?")),
            status=str(raw.get("StepStatus", "?")),
            failure_reason=str(raw.get("FailureReason", "")),
            cached=bool(raw.get("CacheHitResult")),
        )


@dataclass(frozen=True)
class ExecutionState:
    """An execution's status, failure reason and steps (in the order they started)."""

    arn: str
    status: str
    failure_reason: str
    steps: tuple[StepState, ...]

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    def failed_steps(self) -> list[StepState]:
        return [s for s in self.steps if s.status == "Failed"]


def region_of(execution_arn: str) -> str:
    """The region of ``arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>``.

    Raises:
        AwsError: ``execution_arn`` is not a pipeline execution ARN.
    """
    parts = execution_arn.split(":")
    if len(parts) < 6 or parts[2] != "sagemaker" or "/execution/" not in parts[5]:
        raise AwsError(
            f"{execution_arn!r} is not a pipeline execution ARN such as "
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/NAME/execution/ID"
        )
    return parts[3]


def execution_state(sagemaker: Any, execution_arn: str) -> ExecutionState:
    """Describe an execution and list its steps."""
    described = call(
        f"describing {execution_arn}",
        sagemaker.describe_pipeline_execution,
        PipelineExecutionArn=execution_arn,
    )
    steps: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"PipelineExecutionArn": execution_arn, "SortOrder": "Ascending"}
        if token:
            kwargs["NextToken"] = token
        page = call(
            f"listing the steps of {execution_arn}",
            sagemaker.list_pipeline_execution_steps,
            **kwargs,
        )
        steps.extend(page.get("PipelineExecutionSteps", []))
        token = page.get("NextToken")
        if not token:
            break
    return ExecutionState(
        arn=execution_arn,
        status=str(described.get("PipelineExecutionStatus", "?")),
        failure_reason=str(described.get("FailureReason", "")),
        steps=tuple(StepState.of(s) for s in steps),
    )


def describe_lines(state: ExecutionState) -> list[str]:
    """A readable report of an execution: status, one line per step, failure reasons."""
    lines = [f"execution {state.arn}: {state.status}"]
    if state.failure_reason:
        lines.append(f"  reason: {state.failure_reason}")
    width = max((len(s.name) for s in state.steps), default=0)
    for step in state.steps:
        cached = " (cached)" if step.cached else ""
        lines.append(f"  {step.name.ljust(width)}  {step.status}{cached}")
    for step in state.failed_steps():
        lines.append(f"step {step.name!r} failed: {step.failure_reason or 'no reason given'}")
    return lines


def wait(
    sagemaker: Any,
    execution_arn: str,
    report: Callable[[str], None] = print,
    poll_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionState:
    """Poll an execution until it ends, reporting each step's status changes and, at the
    end, each failed step's reason."""
    seen: dict[str, str] = {}
    while True:
        state = execution_state(sagemaker, execution_arn)
        done = sum(1 for s in state.steps if s.status in ("Succeeded", "Failed", "Stopped"))
        for step in state.steps:
            if seen.get(step.name) != step.status:
                seen[step.name] = step.status
                cached = " (cached)" if step.cached else ""
                report(f"[{done}/{len(state.steps)}] {step.name}: {step.status}{cached}")
        if state.finished:
            report(f"execution {state.status}")
            for step in state.failed_steps():
                report(f"step {step.name!r} failed: {step.failure_reason or 'no reason given'}")
            if state.failure_reason:
                report(f"reason: {state.failure_reason}")
            return state
        sleep(poll_seconds)
