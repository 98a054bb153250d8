"""What the engine hands a step process (a request) and what it hands back (a result).

Both are JSON files in the step's directory. They hold only resolved values: a step process
never evaluates expressions or reads the pipeline, so it starts fast and imports little.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

OptMlMode = Literal["namespace", "rewrite"]
#: Names the engine's pid in a step process's environment: the step process stops when its
#: parent is no longer that process.
ENGINE_PID_ENV = "SAGEPIPE_ENGINE_PID"


@dataclass(frozen=True)
class StepRequest:
    """Everything a step process needs to run one step.

    Attributes:
        execution_id: The execution.
        pipeline_name: The pipeline.
        step_name: The step.
        step_type: The definition step's ``Type``.
        call: ``module:class`` of the local implementation of its API call
            (:func:`sagepipe.local.calls.call_target`).
        call_request: The step's ``Arguments``, evaluated: the concrete API request.
        step_dir: The step's directory (see :class:`~sagepipe.local.layout.StepLayout`).
        job_name: The SageMaker job name of the step.
        home: The sagepipe home (run store, local object store).
        storage: The backend of ``s3://`` URIs.
        opt_ml_mode: ``namespace`` (``/opt/ml`` is the work dir in a private mount
            namespace) or ``rewrite`` (``/opt/ml`` in arguments is rewritten).
        install_requirements: Whether a job installs its code's ``requirements.txt``.
        region: The execution's region.
    """

    execution_id: str
    pipeline_name: str
    step_name: str
    step_type: str
    call: str
    call_request: dict[str, Any]
    step_dir: str
    job_name: str
    home: str
    storage: str
    opt_ml_mode: OptMlMode
    install_requirements: bool = True
    region: str = "us-east-1"

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> StepRequest:
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True)
class StepResult:
    """How a step process ended.

    Attributes:
        status: ``Succeeded``, ``Failed`` or ``Stopped``.
        properties: The step's properties (on success).
        failure_reason: Why it failed.
        outputs: ``[{"uri": ..., "objects": n}]`` for each output it uploaded.
        warnings: Warnings to show with the step.
        process_seconds: How long the step's own work (its script or job) ran.
        internal: Whether it failed for a reason of the local machinery rather than of the
            request or its code (an unexpected error, a file the engine could not write): the
            counterpart of SageMaker's service faults, which ``RetryPolicies`` may retry.
    """

    status: str
    properties: dict[str, Any] | None = None
    failure_reason: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    process_seconds: float | None = None
    internal: bool = False

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> StepResult:
        return cls(**json.loads(path.read_text()))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically, so a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(temp, path)
