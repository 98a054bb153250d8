"""What the run store keeps: executions, steps and metric points."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class StepStatus(StrEnum):
    """A step's status (SageMaker's ``StepStatus`` values, plus ``Cached`` and ``NotRun``).

    A member is its string (``StepStatus.SUCCEEDED == "Succeeded"``), as the run store keeps it.
    """

    STARTING = "Starting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"
    NOT_RUN = "NotRun"
    CACHED = "Cached"


class ExecutionStatus(StrEnum):
    """An execution's status (SageMaker's ``PipelineExecutionStatus`` values run locally)."""

    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"


#: Step statuses whose properties later steps may read.
DONE_STATUSES: frozenset[str] = frozenset({StepStatus.SUCCEEDED, StepStatus.CACHED})
#: Step statuses a resumed execution runs again.
RERUN_STATUSES: frozenset[str] = frozenset(
    {
        StepStatus.STARTING,
        StepStatus.EXECUTING,
        StepStatus.FAILED,
        StepStatus.STOPPED,
        StepStatus.NOT_RUN,
    }
)


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution of a pipeline.

    Attributes:
        execution_id: Twelve lowercase letters and digits, as SageMaker's.
        pipeline_name: The pipeline's name.
        ir_json: The sagepipe pipeline the definition was compiled from (``Pipeline.to_json()``),
            so a resume compiles it again with fixed code; empty for a definition run as it is.
        root: The directory of the pipeline or definition file.
        parameters: Parameter values of the execution.
        status: ``Executing``, ``Succeeded``, ``Failed`` or ``Stopped``.
        storage: The storage backend of ``s3://`` URIs (``local`` or ``s3``).
        start_time: Seconds since the epoch.
        end_time: Seconds since the epoch; ``None`` while running.
        failure_reason: Why it failed or stopped.
        engine_pid: Process id of the ``sagepipe run`` that runs it.
        engine_start: That process's start time (clock ticks since boot, from
            ``/proc/PID/stat``), so a recycled pid is not taken for the engine.
        definition_json: The SageMaker pipeline definition it executes (``None`` for an
            execution of an IR), so ``--resume`` re-reads it.
    """

    execution_id: str
    pipeline_name: str
    ir_json: str
    root: str
    parameters: dict[str, Any]
    status: str
    storage: str
    start_time: float
    end_time: float | None
    failure_reason: str | None
    engine_pid: int | None
    engine_start: int | None = None
    definition_json: str | None = None


@dataclass(frozen=True)
class StepRecord:
    """One step of an execution.

    Attributes:
        execution_id: The execution.
        name: The step's name.
        step_type: The step's type.
        status: A :data:`StepStatus`.
        start_time: When it started (seconds since the epoch).
        end_time: When it ended.
        properties: Its recorded properties (``{"ModelArtifacts": {...}}``).
        failure_reason: Why it failed or stopped.
        cache_key: The sha256 of its resolved arguments, code and input content.
        cache_hit: Whether it reused an earlier run.
        cache_source: The execution whose run it reused.
        log_path: Its log file.
        work_dir: Its work directory (shaped like ``/opt/ml``).
        pid: Process id of its step process while it runs.
        pid_start: That process's start time (see :attr:`ExecutionRecord.engine_start`).
        outputs: ``[{"uri": ..., "objects": n}]``: what it uploaded, to check a cache hit.
        warnings: Warnings shown at its end (e.g. metric definitions that never matched).
        process_seconds: How long its step process ran.
    """

    execution_id: str
    name: str
    step_type: str
    status: str
    start_time: float | None
    end_time: float | None
    properties: dict[str, Any] | None
    failure_reason: str | None
    cache_key: str | None
    cache_hit: bool
    cache_source: str | None
    log_path: str | None
    work_dir: str | None
    pid: int | None
    outputs: list[dict[str, Any]]
    warnings: list[str]
    process_seconds: float | None
    pid_start: int | None = None

    @property
    def elapsed(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric, as captured from a training log."""

    step_name: str
    name: str
    value: float
    timestamp: float
    index: int


@dataclass(frozen=True)
class ModelRecord:
    """A model created by a model step (what SageMaker's ``DescribeModel`` returns).

    Attributes:
        name: The model's name (``ModelName``), unique in the run store.
        execution_id: The execution that created it.
        step_name: The model step that created it.
        image: The inference image SageMaker would run it on.
        model_data_url: The model archive (``PrimaryContainer.ModelDataUrl``).
        environment: The container environment.
        region: The region it was created in.
        created_at: Seconds since the epoch.
    """

    name: str
    execution_id: str
    step_name: str
    image: str
    model_data_url: str
    environment: dict[str, str]
    region: str
    created_at: float


def dumps(value: Any) -> str:
    """The JSON text stored in the run store (sorted keys, so equal values compare equal)."""
    return json.dumps(value, sort_keys=True)
