"""What a local API call implementation gets (a :class:`CallContext`) and returns (a
:class:`StepOutcome`), and the protocol it follows (:class:`LocalCall`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sagepipe.local.layout import StepLayout
from sagepipe.local.protocol import OptMlMode
from sagepipe.local.records import MetricPoint
from sagepipe.local.uploads import Uploader
from sagepipe.storage import Storage


@dataclass
class CallContext:
    """What a local implementation gets inside the step process.

    Attributes:
        step_name: The definition step's ``Name``.
        step_type: Its ``Type`` (``Processing``, ``Training``, ...).
        request: Its ``Arguments`` with every expression evaluated: the concrete API request.
        job_name: The name SageMaker would give the job, model or package (unique per step
            and execution); recorded in the properties (``TrainingJobName``, ...).
        execution_id: The pipeline execution.
        pipeline_name: The pipeline.
        region: The region of the execution (``AWS_REGION`` in containers, ARNs).
        home: The sagepipe home (run store, local object store, registry, endpoints).
        layout: The step's files (log, work dir shaped like the container's ``/opt/ml``).
        storage: The backend of ``s3://`` URIs.
        uploader: Uploads outputs so they are rolled back if the step does not succeed.
        log: Writes one line to the step's log.
        opt_ml_mode: How ``/opt/ml`` is provided (see :mod:`sagepipe.local.sandbox`).
        record_metrics: Stores metric points of the step (also when it then fails).
        install_requirements: Whether a job installs its code's ``requirements.txt``.
    """

    step_name: str
    step_type: str
    request: dict[str, Any]
    job_name: str
    execution_id: str
    pipeline_name: str
    region: str
    home: Path
    layout: StepLayout
    storage: Storage
    uploader: Uploader
    log: Callable[[str], None]
    opt_ml_mode: OptMlMode
    record_metrics: Callable[[list[MetricPoint]], None]
    install_requirements: bool = True


@dataclass
class StepOutcome:
    """What a successful step produced.

    Attributes:
        properties: Its properties, shaped like the SageMaker Describe* response.
        outputs: ``[{"uri": ..., "objects": n}]`` for each output it uploaded.
        warnings: Warnings shown at the end of the step.
        process_seconds: How long its own work (script or job) ran.
    """

    properties: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    process_seconds: float | None = None


class LocalCall(Protocol):
    """Does locally what one SageMaker API call does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """Why this step cannot run on this machine, found before anything runs.

        ``arguments`` are the step's unevaluated ``Arguments``: any value may still be an
        expression (``{"Get": ...}``, ``{"Std:Join": ...}``); check only what is concrete
        (an image URI that maps to no local runtime, a feature with no local meaning, such as
        a model with several containers). Each problem is one line naming the step and field.
        """
        ...

    def run(self, context: CallContext) -> StepOutcome:
        """Do the call; raise :class:`~sagepipe.local.errors.StepFailure` to fail the step."""
        ...
