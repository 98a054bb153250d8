"""The runner protocol: how the engine checks a step type and how a step process runs it.

A runner has two halves. :meth:`Runner.check` runs in the engine, before anything runs, on
the IR step. :meth:`Runner.run` runs in the step's own process, from the resolved
:class:`~sagepipe.local.protocol.StepRequest`; it raises
:class:`~sagepipe.local.errors.StepFailure` to fail the step with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sagepipe.local.calls.base import CallContext
from sagepipe.local.calls.base import StepOutcome as StepOutcome
from sagepipe.local.layout import StepLayout
from sagepipe.local.protocol import OptMlMode, StepRequest
from sagepipe.local.records import MetricPoint
from sagepipe.local.uploads import Uploader
from sagepipe.storage import Storage

if TYPE_CHECKING:
    from sagepipe.pipeline import Step


@dataclass
class StepContext:
    """What a runner gets inside the step process.

    Attributes:
        request: The resolved step.
        layout: The step's files.
        storage: Storage of the execution's backend.
        uploader: Uploads outputs so they can be rolled back if the step does not succeed.
        log: Writes one line to the step's log.
        opt_ml_mode: How ``/opt/ml`` is provided (see :mod:`sagepipe.local.sandbox`).
        record_metrics: Stores metric points of the step (also when it then fails).
    """

    request: StepRequest
    layout: StepLayout
    storage: Storage
    uploader: Uploader
    log: Callable[[str], None]
    opt_ml_mode: OptMlMode
    record_metrics: Callable[[list[MetricPoint]], None]


class Runner(Protocol):
    """Runs one step type locally."""

    def check(self, step: Step) -> None:
        """Raise a :class:`~sagepipe.errors.PipelineDefinitionError` if the engine cannot run
        this step (checked for every step before anything runs)."""
        ...

    def run(self, context: StepContext) -> StepOutcome:
        """Run the step inside its step process."""
        ...


def call_context(context: StepContext, step_type: str, request: dict[str, Any]) -> CallContext:
    """The context of the local API call a runner delegates to, with its request."""
    step = context.request
    return CallContext(
        step_name=step.step_name,
        step_type=step_type,
        request=request,
        job_name=step.job_name,
        execution_id=step.execution_id,
        pipeline_name=step.pipeline_name,
        region=str(step.config.get("region") or "us-east-1"),
        home=Path(step.home),
        layout=context.layout,
        storage=context.storage,
        uploader=context.uploader,
        log=context.log,
        opt_ml_mode=context.opt_ml_mode,
        record_metrics=context.record_metrics,
        install_requirements=step.install_requirements,
    )
