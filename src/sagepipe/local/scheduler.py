"""The scheduler: runs the steps of an execution of a SageMaker pipeline definition, each job
step in its own process, independent ones in parallel, recording every change in the run store.

Steps come from an :class:`~sagepipe.local.definition.graph.ExecutionOrder`
(``graphlib``: ``get_ready``/``done``). A ``Condition`` step is evaluated here, records
``{"Outcome": true|false}`` as its property, as SageMaker does, and only its chosen branch
runs; a ``Fail`` step fails the execution with its evaluated ``ErrorMessage`` as the reason.
Each job step's ``Arguments`` are evaluated into a concrete request that its own process hands
to the local implementation of its API call (:mod:`sagepipe.local.calls`).

Caching follows ``CacheConfig``: only a step whose ``CacheConfig.Enabled`` is true may reuse an
earlier run with the same cache key (:func:`~sagepipe.local.caching.request_cache_key`), and
not one older than its ``ExpireAfter``.

Retries follow ``RetryPolicies``. Locally, the failures SageMaker counts as its own
(``Step.SERVICE_FAULT``, ``SageMaker.JOB_INTERNAL_ERROR``) are those of the local machinery:
a step process ending without a result, a file the implementation could not read or write
(a full disk), an unexpected error inside it. A step process killed by a signal is not
retried (a person or the OOM killer did it). A failure of the request or its code (a
script that exits non-zero, a missing ``s3://`` object) is the client's, which SageMaker never
retries; throttling, capacity and resource limits do not happen here. A matching policy
retries after ``IntervalSeconds`` (default 1) times ``BackoffRate`` (default 2) per attempt,
up to ``MaxAttempts`` (default 5) attempts and within ``ExpireAfterMin``.
"""

from __future__ import annotations

import collections
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sagepipe.local.caching import (
    ContentDigester,
    duration_seconds,
    outputs_intact,
    request_cache_key,
)
from sagepipe.local.definition.conditions import evaluate_conditions
from sagepipe.local.definition.graph import DefinitionGraph, ExecutionOrder
from sagepipe.local.definition.model import ConditionStep, Definition, FailStep, JobStep
from sagepipe.local.errors import ExpressionEvaluationError, RunStoreError
from sagepipe.local.evaluation import EvaluationContext, evaluate, join_text
from sagepipe.local.launch import RunningStep, clear_step_dir, collect_step, start_step
from sagepipe.local.layout import job_name, step_layout
from sagepipe.local.progress import Reporter, StepView
from sagepipe.local.protocol import OptMlMode, StepRequest
from sagepipe.local.records import ExecutionRecord, ExecutionStatus, StepStatus
from sagepipe.local.requests import ExecutionIdentity, definition_context
from sagepipe.local.store import RunStore
from sagepipe.storage import RoutedStorage

POLL_SECONDS = 0.02
STOP_GRACE_SECONDS = 10.0


@dataclass
class SchedulerSettings:
    """How the scheduler runs steps."""

    home: Path
    max_parallel: int
    use_cache: bool
    install_requirements: bool
    opt_ml_mode: OptMlMode


#: ``RetryPolicies`` exception types that a local failure of the machinery matches.
LOCAL_FAULTS = frozenset({"Step.SERVICE_FAULT", "SageMaker.JOB_INTERNAL_ERROR"})
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_BACKOFF_RATE = 2.0


@dataclass
class _Attempt:
    number: int
    first_start: float


@dataclass
class Scheduler:
    """Runs the steps of one execution of a definition.

    Attributes:
        definition: The definition.
        graph: Its checked graph.
        calls: ``module:class`` of the local implementation of each job step, by name.
        execution: The execution.
        identity: What ``Execution.*`` variables name.
        store: The run store.
        storage: Storage of the execution's backend.
        settings: How to run steps.
        reporter: Receives progress.
        properties: Recorded properties of the steps that are done (resume passes them in).
    """

    definition: Definition
    graph: DefinitionGraph
    calls: dict[str, str]
    execution: ExecutionRecord
    identity: ExecutionIdentity
    store: RunStore
    storage: RoutedStorage
    settings: SchedulerSettings
    reporter: Reporter
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    _running: dict[str, RunningStep] = field(default_factory=dict)
    _attempts: dict[str, _Attempt] = field(default_factory=dict)
    _retries: dict[str, float] = field(default_factory=dict)
    _views: dict[str, StepView] = field(default_factory=dict)
    _ended: set[str] = field(default_factory=set)
    _failure: str | None = None
    _order: ExecutionOrder | None = None
    _signals: int = 0
    _aborting: bool = False

    def run(self) -> tuple[str, str | None]:
        """Run the steps that are not done; returns the execution's status and reason."""
        self._views = {name: StepView(name) for name in self.graph.static_order()}
        for name in self.properties:
            self._views[name].status = StepStatus.SUCCEEDED
        self._digester = ContentDigester(self.storage, self.store)
        order = self._order = self.graph.order()
        with self._signals_handled():
            status = self._loop(order)
        self._mark_not_run(order)
        return status, self._failure

    # --- the loop ------------------------------------------------------------------------

    def _loop(self, order: ExecutionOrder) -> str:
        queue: collections.deque[str] = collections.deque()
        while True:
            if self._signals:
                self._stop_running("stopped by the user")
                self._failure = "stopped by the user"
                return ExecutionStatus.STOPPED
            self._reap(order)
            self._start_due_retries()
            while self._failure is None:
                queue.extend(order.get_ready())
                if not queue or len(self._running) >= self.settings.max_parallel:
                    break
                self._dispatch(queue.popleft(), order)
            self.reporter.tick()
            if not self._running and not self._retries and (self._failure or not queue):
                break
            time.sleep(POLL_SECONDS)
        return ExecutionStatus.FAILED if self._failure else ExecutionStatus.SUCCEEDED

    def _dispatch(self, name: str, order: ExecutionOrder) -> None:
        step = self.graph.steps[name].step
        if name in self.properties:  # done in the execution being resumed
            if isinstance(step, ConditionStep):
                order.choose(name, bool(self.properties[name].get("Outcome")))
            order.done(name)
            return
        if isinstance(step, ConditionStep):
            self._condition(step, order)
        elif isinstance(step, FailStep):
            self._fail(step)
        else:
            self._attempts[name] = _Attempt(1, time.time())
            self._start(step, order)

    def _context(self) -> EvaluationContext:
        return definition_context(
            self.definition,
            self.identity,
            self.execution.parameters,
            self.properties,
            self.storage,
        )

    # --- control flow in the engine ------------------------------------------------------

    def _condition(self, step: ConditionStep, order: ExecutionOrder) -> None:
        self._begin(step.Name)
        try:
            outcome = evaluate_conditions(
                step.Arguments.Conditions, self._context(), f"step {step.Name!r}"
            )
        except ExpressionEvaluationError as exc:
            self._finish(step.Name, StepStatus.FAILED, failure_reason=str(exc))
            return
        branch = "IfSteps" if outcome else "ElseSteps"
        self._finish(
            step.Name,
            StepStatus.SUCCEEDED,
            properties={"Outcome": outcome},
            detail=f"Outcome {join_text(outcome)}: runs its {branch}",
        )
        order.choose(step.Name, outcome)
        order.done(step.Name)

    def _fail(self, step: FailStep) -> None:
        self._begin(step.Name)
        where = f"step {step.Name!r} Arguments.ErrorMessage"
        try:
            message = join_text(evaluate(step.Arguments.ErrorMessage, self._context(), where))
        except ExpressionEvaluationError as exc:
            message = str(exc)
        self._finish(step.Name, StepStatus.FAILED, failure_reason=message, reason=message)

    # --- job steps -----------------------------------------------------------------------

    def _start(self, step: JobStep, order: ExecutionOrder | None) -> None:
        name = step.Name
        execution_id = self.execution.execution_id
        layout = step_layout(self.settings.home, execution_id, name)
        clear_step_dir(layout, self.storage)
        self.store.delete_metrics(execution_id, name)
        self._begin(name)
        context = self._context()
        where = f"step {name!r} Arguments"
        try:
            request = evaluate(step.Arguments, context, where)
            key = self._cache_key(step, context, where)
        except ExpressionEvaluationError as exc:
            self._finish(name, StepStatus.FAILED, failure_reason=str(exc))
            return
        if key is not None and self.settings.use_cache and self._reuse(step, key):
            if order is not None:
                order.done(name)
            return
        step_request = StepRequest(
            execution_id=execution_id,
            pipeline_name=self.execution.pipeline_name,
            step_name=name,
            step_type=step.Type,
            step_dir=str(layout.step_dir),
            job_name=job_name(name, execution_id),
            home=str(self.settings.home),
            storage=self.storage.backend,
            opt_ml_mode=self.settings.opt_ml_mode,
            install_requirements=self.settings.install_requirements,
            call=self.calls[name],
            call_request=request,
            region=self.identity.region,
        )
        running = start_step(step_request, layout)
        self._running[name] = running
        self._record(
            name,
            status=StepStatus.EXECUTING,
            cache_key=key,
            pid=running.process.pid,
            pid_start=running.start_ticks,
            log_path=str(layout.log),
            work_dir=str(layout.work_dir),
        )
        self._views[name].log = layout.log
        attempt = self._attempts[name].number
        self._views[name].detail = f"attempt {attempt}" if attempt > 1 else ""
        self._show(name, StepStatus.EXECUTING)

    def _cache_key(self, step: JobStep, context: EvaluationContext, where: str) -> str | None:
        if step.CacheConfig is None or not step.CacheConfig.Enabled:
            return None
        return request_cache_key(step.Type, step.Arguments, context, self._digester, where)

    def _reuse(self, step: JobStep, key: str) -> bool:
        earlier = self.store.find_cached(key)
        if earlier is None or earlier.properties is None:
            return False
        expire = step.CacheConfig.ExpireAfter if step.CacheConfig else None
        ended = earlier.end_time
        if (
            expire is not None
            and ended is not None
            and time.time() - ended > duration_seconds(expire)
        ):
            return False
        if not outputs_intact(earlier, self.storage):
            return False
        self.store.copy_metrics(
            (earlier.execution_id, earlier.name), (self.execution.execution_id, step.Name)
        )
        self._record(
            step.Name,
            cache_key=key,
            cache_hit=True,
            cache_source=earlier.execution_id,
            log_path=earlier.log_path,
            outputs=earlier.outputs,
        )
        self._finish(
            step.Name,
            StepStatus.CACHED,
            properties=earlier.properties,
            detail=f"reused step {earlier.name!r} of execution {earlier.execution_id}",
        )
        return True

    def _reap(self, order: ExecutionOrder) -> None:
        for running in list(self._running.values()):
            code = running.process.poll()
            if code is not None:
                self._collect(running, code, stop_reason=None, order=order)

    def _collect(
        self,
        running: RunningStep,
        code: int,
        stop_reason: str | None,
        order: ExecutionOrder | None,
    ) -> None:
        name = running.name
        del self._running[name]
        end = collect_step(running, code, self.storage, stop_reason)
        result = end.result
        if end.status == StepStatus.FAILED and end.internal and self._retry(name, end):
            return
        succeeded = end.status == StepStatus.SUCCEEDED
        self._finish(
            name,
            end.status,
            failure_reason=end.failure_reason,
            properties=result.properties if result and succeeded else None,
            outputs=result.outputs if result and succeeded else [],
            warnings=result.warnings if result else [],
            process_seconds=result.process_seconds if result else None,
        )
        if succeeded and order is not None:
            order.done(name)

    def _retry(self, name: str, end: Any) -> bool:
        """Schedule another attempt if a retry policy of the step covers this failure."""
        step = self.graph.steps[name].step
        if not isinstance(step, JobStep) or self._aborting or self._failure is not None:
            return False
        attempt = self._attempts[name]
        for policy in step.RetryPolicies:
            if not LOCAL_FAULTS.intersection(policy.ExceptionType):
                continue
            max_attempts = policy.MaxAttempts or DEFAULT_MAX_ATTEMPTS
            interval = float(policy.IntervalSeconds or DEFAULT_INTERVAL_SECONDS)
            rate = policy.BackoffRate or DEFAULT_BACKOFF_RATE
            wait = interval * rate ** (attempt.number - 1)
            due = time.time() + wait
            expired = policy.ExpireAfterMin is not None and (
                due - attempt.first_start > policy.ExpireAfterMin * 60
            )
            if attempt.number >= max_attempts or expired:
                continue
            attempt.number += 1
            self._retries[name] = due
            self._record(name, status=StepStatus.STARTING, failure_reason=end.failure_reason)
            self._views[
                name
            ].detail = (
                f"attempt {attempt.number - 1} failed ({end.failure_reason}); retrying in {wait:g}s"
            )
            self._show(name, StepStatus.STARTING)
            return True
        return False

    def _start_due_retries(self) -> None:
        now = time.time()
        for name, due in list(self._retries.items()):
            if due <= now and len(self._running) < self.settings.max_parallel:
                del self._retries[name]
                step = self.graph.steps[name].step
                if isinstance(step, JobStep):
                    self._start(step, self._order)

    # --- records -------------------------------------------------------------------------

    def _begin(self, name: str) -> None:
        self._record(
            name,
            status=StepStatus.STARTING,
            start_time=time.time(),
            end_time=None,
            properties=None,
            failure_reason=None,
            cache_key=None,
            cache_hit=False,
            cache_source=None,
            log_path=None,
            work_dir=None,
            pid=None,
            pid_start=None,
            outputs=[],
            warnings=[],
            process_seconds=None,
        )
        self._show(name, StepStatus.STARTING)

    def _finish(
        self,
        name: str,
        status: str,
        *,
        detail: str | None = None,
        properties: dict[str, Any] | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> None:
        self._record(
            name,
            status=status,
            end_time=time.time(),
            pid=None,
            pid_start=None,
            properties=properties,
            **fields,
        )
        self._ended.add(name)
        if status in (StepStatus.SUCCEEDED, StepStatus.CACHED) and properties is not None:
            self.properties[name] = properties
        elif self._failure is None:
            failure = fields.get("failure_reason") or status
            self._failure = reason or f"step {name!r} failed: {failure}"
        view = self._views[name]
        view.ended = time.time()
        failure_reason = fields.get("failure_reason")
        view.detail = detail or (failure_reason.splitlines()[0] if failure_reason else "")
        warnings = fields.get("warnings") or []
        if warnings and not view.detail:
            view.detail = f"{len(warnings)} warning(s): {warnings[0]}"
        self._show(name, status)

    def _mark_not_run(self, order: ExecutionOrder) -> None:
        passed = set(order.passed_over)
        for name in self._views:
            if name in self._ended or name in self.properties:
                continue
            if name in passed:
                why = "a condition chose the other branch, or an upstream step was not run"
            elif self._failure == "stopped by the user":
                why = "the execution was stopped"
            else:
                why = "an earlier step did not succeed"
            self._record(name, status=StepStatus.NOT_RUN, failure_reason=f"not run: {why}")
            self._views[name].detail = why
            self._show(name, StepStatus.NOT_RUN)

    def _record(self, name: str, **fields: Any) -> None:
        try:
            self.store.update_step(self.execution.execution_id, name, **fields)
        except RunStoreError:
            # While aborting, stopping the steps comes first; the engine records their end
            # in one last write (RunStore.finish_execution) if the store takes it.
            if not self._aborting:
                raise
        if fields.get("start_time") is not None:
            view = self._views[name]
            view.started, view.ended = fields["start_time"], None

    def _show(self, name: str, status: str) -> None:
        view = self._views[name]
        view.status = status
        self.reporter.update(view)

    # --- stopping ------------------------------------------------------------------------

    def abort(self, reason: str) -> None:
        """Stop every running step (the engine itself failed), with ``reason``."""
        self._aborting = True
        self._retries.clear()
        self._stop_running(reason)

    def _stop_running(self, reason: str) -> None:
        self._retries.clear()
        for running in self._running.values():
            running.signal_group(signal.SIGTERM)
        signals_seen = self._signals
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._running and time.monotonic() < deadline and self._signals == signals_seen:
            for running in list(self._running.values()):
                code = running.process.poll()
                if code is not None:
                    stop = reason if code != 0 else None
                    self._collect(running, code, stop_reason=stop, order=None)
            time.sleep(POLL_SECONDS)
        for running in list(self._running.values()):
            running.signal_group(signal.SIGKILL)
            self._collect(running, running.process.wait(), stop_reason=reason, order=None)

    @contextlib.contextmanager
    def _signals_handled(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self._signals += 1

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
