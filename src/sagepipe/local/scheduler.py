"""The scheduler: runs an execution's steps in topological order, independent ones in
parallel, each in its own process; records every change in the run store.

Ctrl-C (SIGINT) or SIGTERM stops the run: running steps get SIGTERM (their step process
undoes its uploads), then SIGKILL after a grace period; a second Ctrl-C kills at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sagepipe.local.caching import ContentDigester, cache_key, outputs_intact
from sagepipe.local.errors import ExpressionEvaluationError, RunStoreError
from sagepipe.local.launch import RunningStep, clear_step_dir, collect_step, start_step
from sagepipe.local.layout import step_layout
from sagepipe.local.progress import Reporter, StepView
from sagepipe.local.protocol import OptMlMode
from sagepipe.local.records import ExecutionRecord
from sagepipe.local.resolution import (
    RequestSettings,
    build_request,
    execution_context,
    resolve_step,
)
from sagepipe.local.store import RunStore
from sagepipe.pipeline import Pipeline, Step
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


@dataclass
class Scheduler:
    """Runs the steps of one execution.

    Attributes:
        pipeline: The pipeline (its IR).
        execution: The execution.
        store: The run store.
        storage: Storage of the execution's backend.
        settings: How to run steps.
        reporter: Receives progress.
        properties: Recorded properties of the steps that are done (resume passes them in).
    """

    pipeline: Pipeline
    execution: ExecutionRecord
    store: RunStore
    storage: RoutedStorage
    settings: SchedulerSettings
    reporter: Reporter
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    _running: dict[str, RunningStep] = field(default_factory=dict)
    _unsuccessful: dict[str, str] = field(default_factory=dict)
    _views: dict[str, StepView] = field(default_factory=dict)
    _signals: int = 0
    _aborting: bool = False

    def run(self, to_run: list[str]) -> tuple[str, str | None]:
        """Run the named steps (the others must be done); returns the execution's status
        and failure reason."""
        order = [s for s in self.pipeline.execution_order() if s.name in to_run]
        self._views = {s.name: StepView(s.name) for s in self.pipeline.execution_order()}
        for name in self.properties:
            self._views[name].status = "Succeeded"
        self._digester = ContentDigester(self.storage, self.store)
        with self._signals_handled():
            return self._loop(order)

    def _loop(self, pending: list[Step]) -> tuple[str, str | None]:
        failure: str | None = None
        while pending or self._running:
            if self._signals:
                self._stop_running("stopped by the user")
                self._skip(pending, "the execution was stopped")
                return "Stopped", "stopped by the user"
            self._reap()
            if failure is None and self._unsuccessful:
                name, reason = next(iter(self._unsuccessful.items()))
                failure = f"step {name!r} failed: {reason}"
            if failure is not None:
                self._skip(pending, "an earlier step failed")
                pending = []
            for step in list(pending):
                blocked = [d for d in step.depends_on if d in self._unsuccessful]
                if blocked:
                    pending.remove(step)
                    self._skip([step], f"upstream step {blocked[0]!r} did not succeed")
                elif len(self._running) >= self.settings.max_parallel:
                    break
                elif all(d in self.properties for d in step.depends_on):
                    pending.remove(step)
                    self._start(step)
            self.reporter.tick()
            if self._running:
                time.sleep(POLL_SECONDS)
            elif pending and not any(self._ready(s) for s in pending):
                self._skip(pending, "its upstream steps did not run")
                pending = []
        if self._unsuccessful:
            name, reason = next(iter(self._unsuccessful.items()))
            return "Failed", f"step {name!r} failed: {reason}"
        return "Succeeded", None

    def _ready(self, step: Step) -> bool:
        return all(d in self.properties or d in self._unsuccessful for d in step.depends_on)

    # --- one step ------------------------------------------------------------------------

    def _start(self, step: Step) -> None:
        execution_id = self.execution.execution_id
        layout = step_layout(self.settings.home, execution_id, step.name)
        clear_step_dir(layout, self.storage)
        self.store.delete_metrics(execution_id, step.name)
        self._record(
            step.name,
            status="Starting",
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
        context = execution_context(self.pipeline, self.execution, self.properties)
        try:
            resolved = resolve_step(step, context)
        except ExpressionEvaluationError as exc:
            self._finish(step.name, "Failed", failure_reason=str(exc))
            return
        key = None
        if step.cache:
            key = cache_key(step, context, resolved.inputs, self._digester)
        if key is not None and self.settings.use_cache and self._reuse(step, key):
            return
        settings = RequestSettings(
            home=self.settings.home,
            storage=self.storage.backend,
            opt_ml_mode=self.settings.opt_ml_mode,
            install_requirements=self.settings.install_requirements,
        )
        request = build_request(resolved, self.pipeline.name, execution_id, layout, settings)
        running = start_step(request, layout)
        self._running[step.name] = running
        self._record(
            step.name,
            status="Executing",
            cache_key=key,
            pid=running.process.pid,
            pid_start=running.start_ticks,
            log_path=str(layout.log),
            work_dir=str(layout.work_dir),
        )
        self._views[step.name].log = layout.log
        self._show(step.name, "Executing")

    def _reuse(self, step: Step, key: str) -> bool:
        earlier = self.store.find_cached(key)
        if earlier is None or earlier.properties is None:
            return False
        if not outputs_intact(earlier, self.storage):
            return False
        self.store.copy_metrics(
            (earlier.execution_id, earlier.name), (self.execution.execution_id, step.name)
        )
        self._record(
            step.name,
            cache_key=key,
            cache_hit=True,
            cache_source=earlier.execution_id,
            log_path=earlier.log_path,
            outputs=earlier.outputs,
        )
        self._finish(
            step.name,
            "Cached",
            properties=earlier.properties,
            detail=f"reused step {earlier.name!r} of execution {earlier.execution_id}",
        )
        return True

    def _reap(self) -> None:
        for running in list(self._running.values()):
            code = running.process.poll()
            if code is not None:
                self._collect(running, code, stop_reason=None)

    def _collect(self, running: RunningStep, code: int, stop_reason: str | None) -> None:
        del self._running[running.name]
        end = collect_step(running, code, self.storage, stop_reason)
        result = end.result
        self._finish(
            running.name,
            end.status,
            failure_reason=end.failure_reason,
            properties=result.properties if result and end.status == "Succeeded" else None,
            outputs=result.outputs if result and end.status == "Succeeded" else [],
            warnings=result.warnings if result else [],
            process_seconds=result.process_seconds if result else None,
        )

    def _finish(
        self,
        name: str,
        status: str,
        *,
        detail: str | None = None,
        properties: dict[str, Any] | None = None,
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
        if status in ("Succeeded", "Cached") and properties is not None:
            self.properties[name] = properties
        else:
            self._unsuccessful[name] = fields.get("failure_reason") or status
        view = self._views[name]
        view.ended = time.time()
        reason = fields.get("failure_reason")
        view.detail = detail or (reason.splitlines()[0] if reason else "")
        warnings = fields.get("warnings") or []
        if warnings and not view.detail:
            view.detail = f"{len(warnings)} warning(s): {warnings[0]}"
        self._show(name, status)

    def _skip(self, steps: list[Step], why: str) -> None:
        for step in steps:
            self._record(step.name, status="NotRun", failure_reason=f"not run: {why}")
            self._views[step.name].detail = why
            self._show(step.name, "NotRun")

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
        self._stop_running(reason)

    def _stop_running(self, reason: str) -> None:
        for running in self._running.values():
            running.signal_group(signal.SIGTERM)
        signals_seen = self._signals
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._running and time.monotonic() < deadline and self._signals == signals_seen:
            for running in list(self._running.values()):
                code = running.process.poll()
                if code is not None:
                    self._collect(running, code, stop_reason=reason if code != 0 else None)
            time.sleep(POLL_SECONDS)
        for running in list(self._running.values()):
            running.signal_group(signal.SIGKILL)
            self._collect(running, running.process.wait(), stop_reason=reason)

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
