"""The local engine's entry points: run a pipeline, resume an execution.

Example:
    >>> outcome = run_pipeline(pipeline, {"Epochs": "3"}, RunOptions(max_parallel=2))
    >>> outcome.status
    'Succeeded'
"""

from __future__ import annotations

import contextlib
import os
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from sagepipe.errors import did_you_mean
from sagepipe.expressions import Parameter
from sagepipe.local.errors import EngineError, RunStoreError, UnknownStepTypeError
from sagepipe.local.liveness import live_step_processes, reconcile
from sagepipe.local.progress import Reporter, SilentReporter
from sagepipe.local.records import DONE_STATUSES, ExecutionRecord, StepRecord
from sagepipe.local.store import RunStore
from sagepipe.local.store.diagnosis import keep_reserve
from sagepipe.pipeline import Pipeline
from sagepipe.processes import process_running, process_start_time

if TYPE_CHECKING:
    from sagepipe.local.definition.model import Definition
    from sagepipe.local.scheduler import SchedulerSettings


class _Stoppable(Protocol):
    reporter: Reporter

    def abort(self, reason: str) -> None: ...


_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class RunOptions:
    """How to run.

    Attributes:
        max_parallel: How many steps may run at once (>= 1).
        use_cache: Whether a step may reuse an identical earlier run.
        storage: Backend of ``s3://`` URIs (``local`` or ``s3``); default ``$SAGEPIPE_STORAGE``
            or ``local``.
        install_requirements: Whether training steps install their ``requirements.txt``.
        home: The sagepipe home; default ``$SAGEPIPE_HOME`` or ``./.sagepipe``.
    """

    max_parallel: int = 2
    use_cache: bool = True
    storage: Literal["local", "s3"] | None = None
    install_requirements: bool = True
    home: Path | None = None


@dataclass(frozen=True)
class ExecutionOutcome:
    """How an execution ended."""

    execution_id: str
    status: str
    failure_reason: str | None
    steps: list[StepRecord] = field(default_factory=list)


def resolve_parameters(pipeline: Pipeline, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The execution's parameter values: defaults, overridden by ``overrides`` (strings are
    coerced to the parameter's type, as ``--param NAME=VALUE``).

    Raises:
        EngineError: for an undeclared parameter or a value of the wrong type.
    """
    declared = {p.name: p for p in pipeline.parameters}
    values: dict[str, Any] = {name: p.default for name, p in declared.items()}
    for name, raw in overrides.items():
        parameter = declared.get(name)
        if parameter is None:
            raise EngineError(
                f"pipeline {pipeline.name!r} has no parameter {name!r}"
                f"{did_you_mean(name, declared)}; its parameters: "
                f"{', '.join(sorted(declared)) or 'none'}"
            )
        value = parameter.coerce(raw) if isinstance(raw, str) else raw
        # Constructing a parameter checks the value's type as it checks a default.
        values[name] = Parameter(name, parameter.parameter_type, value).default
    return values


def check_runnable(pipeline: Pipeline) -> None:
    """Validate the pipeline and check every step type has a local runner.

    Raises:
        UnknownStepTypeError: naming the step and its type, before anything runs.
    """
    from sagepipe.local.runners import RUNNERS

    pipeline.validate()
    for step in pipeline.execution_order():
        runner = RUNNERS.get(step.step_type)
        if runner is None:
            raise UnknownStepTypeError(
                f"step {step.name!r} has step type {step.step_type!r}, for which the local "
                "engine has no runner; it runs: " + ", ".join(sorted(RUNNERS))
            )
        runner.check(step)


def run_pipeline(
    pipeline: Pipeline,
    parameters: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    reporter: Reporter | None = None,
    execution_document: Mapping[str, Any] | None = None,
) -> ExecutionOutcome:
    """Run a pipeline locally as a new execution.

    Args:
        pipeline: The pipeline.
        parameters: Parameter overrides by name.
        options: How to run.
        reporter: Receives progress; default silent.
        execution_document: Per-step settings merged into the step configs (see
            :mod:`sagepipe.local.execution_document`); the execution records the merged IR.
    """
    options = options or RunOptions()
    _check_options(options)
    if execution_document is not None:
        from sagepipe.local.execution_document import apply_execution_document

        pipeline = apply_execution_document(pipeline, execution_document)
    check_runnable(pipeline)
    values = resolve_parameters(pipeline, parameters or {})
    home, store, storage = _open(options)
    record = ExecutionRecord(
        execution_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(12)),
        pipeline_name=pipeline.name,
        ir_json=pipeline.to_json(),
        root=str(pipeline.root),
        parameters=values,
        status="Executing",
        storage=storage.backend,
        start_time=time.time(),
        end_time=None,
        failure_reason=None,
        engine_pid=os.getpid(),
        engine_start=process_start_time(os.getpid()),
    )
    steps = [(s.name, s.step_type) for s in pipeline.execution_order()]
    store.create_execution(record, steps)
    return _execute(pipeline, record, store, storage, options, home, reporter, {}, steps)


def resume_execution(
    execution_id: str,
    options: RunOptions | None = None,
    reporter: Reporter | None = None,
    definition: Definition | None = None,
) -> ExecutionOutcome:
    """Run again the failed, stopped and not-run steps of an execution (same id; the
    outputs of its succeeded steps are kept). Its IR and parameters are the recorded ones;
    code is read afresh, so a fixed script is picked up.

    Args:
        execution_id: The execution.
        options: How to run.
        reporter: Receives progress.
        definition: For an execution of a definition: the definition to run instead of the
            recorded one (``sagepipe run --resume`` compiles the recorded pipeline again, so
            fixed code gets new bundles); it is recorded.

    Raises:
        ExecutionNotFoundError: if there is no such execution.
        EngineError: if it is still running, or its storage backend differs.
    """
    options = options or RunOptions()
    _check_options(options)
    home, store, storage = _open(options)
    record = reconcile(store, store.execution(execution_id))
    if record.status == "Executing" and process_running(record.engine_pid, record.engine_start):
        raise EngineError(
            f"execution {execution_id} is still running (process {record.engine_pid}); "
            "stop it with Ctrl-C before resuming"
        )
    if record.storage != storage.backend:
        raise EngineError(
            f"execution {execution_id} used --storage {record.storage}; resume it with the same"
        )
    live = live_step_processes(store.steps(execution_id))
    if live:
        step = live[0]
        raise EngineError(
            f"execution {execution_id} cannot be resumed yet: the process of its step "
            f"{step.name!r} (pid {step.pid}) still runs in the step's directory; wait for it "
            f"to end, or end it with: kill -- -{step.pid}"
        )
    done = {
        s.name: s.properties or {} for s in store.steps(execution_id) if s.status in DONE_STATUSES
    }
    if record.definition_json is not None:
        from sagepipe.local.definition_engine import (
            definition_text,
            recorded_definition,
            resume_definition,
        )

        runnable = recorded_definition(record, definition)
        _mark_resumed(store, execution_id)
        if definition is not None:
            store.update_execution(execution_id, definition_json=definition_text(definition))
        return resume_definition(runnable, record, store, storage, options, home, reporter, done)
    pipeline = Pipeline.from_json(record.ir_json, Path(record.root))
    check_runnable(pipeline)
    to_run = [(s.name, s.step_type) for s in pipeline.execution_order() if s.name not in done]
    _mark_resumed(store, execution_id)
    return _execute(pipeline, record, store, storage, options, home, reporter, done, to_run)


def _mark_resumed(store: RunStore, execution_id: str) -> None:
    store.update_execution(
        execution_id,
        status="Executing",
        end_time=None,
        failure_reason=None,
        engine_pid=os.getpid(),
        engine_start=process_start_time(os.getpid()),
    )


def _execute(
    pipeline: Pipeline,
    record: ExecutionRecord,
    store: RunStore,
    storage: Any,
    options: RunOptions,
    home: Path,
    reporter: Reporter | None,
    done: dict[str, dict[str, Any]],
    to_run: list[tuple[str, str]],
) -> ExecutionOutcome:
    from sagepipe.local.scheduler import Scheduler

    settings = _settings(options, home)
    scheduler = Scheduler(
        pipeline, record, store, storage, settings, reporter or SilentReporter(), properties=done
    )
    names = [s.name for s in pipeline.execution_order()]
    return _drive(
        scheduler, lambda: scheduler.run([name for name, _ in to_run]), record, store, names
    )


def _settings(options: RunOptions, home: Path) -> SchedulerSettings:
    from sagepipe.local.sandbox import detect_mode
    from sagepipe.local.scheduler import SchedulerSettings

    return SchedulerSettings(
        home=home,
        max_parallel=options.max_parallel,
        use_cache=options.use_cache,
        install_requirements=options.install_requirements,
        opt_ml_mode=detect_mode(),
    )


def _drive(
    scheduler: _Stoppable,
    run: Callable[[], tuple[str, str | None]],
    record: ExecutionRecord,
    store: RunStore,
    step_names: list[str],
) -> ExecutionOutcome:
    """Run an execution's scheduler, record how it ended, and never leave step processes
    behind or an execution that looks like it still runs."""
    reporter = scheduler.reporter
    reporter.begin(record.execution_id, record.pipeline_name, step_names)
    try:
        status, reason = run()
        store.finish_execution(record.execution_id, status, reason, time.time())
        steps = store.steps(record.execution_id)
    except BaseException as exc:
        # A reader that went away (`sagepipe run | head`) is not a file the engine needs.
        if isinstance(exc, RunStoreError | OSError) and not isinstance(exc, BrokenPipeError):
            _end_after_io_error(scheduler, store, record.execution_id, exc)
        reason = f"the engine failed: {exc!r}"
        scheduler.abort(reason)
        with contextlib.suppress(RunStoreError):  # the original error says more
            store.finish_execution(
                record.execution_id, "Failed", reason, time.time(), ("Stopped", reason)
            )
        raise
    finally:
        reporter.end()
    outcome = ExecutionOutcome(record.execution_id, status, reason, steps)
    store.close()
    return outcome


def _end_after_io_error(
    scheduler: _Stoppable, store: RunStore, execution_id: str, exc: RunStoreError | OSError
) -> NoReturn:
    """Stop the run after the run store or the engine's own files could not be written:
    stop its steps, record ``Failed`` with the cause where the store still takes it, and
    raise one line that names the cause and says what was recorded."""
    error = RunStoreError if isinstance(exc, RunStoreError) else EngineError
    cause = (
        str(exc) if isinstance(exc, RunStoreError) else f"the engine's file access failed: {exc}"
    )
    stopped = f"stopped: {cause}"
    scheduler.abort(stopped)
    try:
        store.finish_execution(execution_id, "Failed", cause, time.time(), ("Stopped", stopped))
    except RunStoreError as again:
        raise error(
            f"{cause}; execution {execution_id} could not be marked Failed either ({again}); "
            "the next sagepipe executions or run --resume marks it Failed once the engine "
            "has exited"
        ) from None
    finally:
        store.close()
    raise error(
        f"{cause}; execution {execution_id} is marked Failed (once the cause is fixed, resume "
        f"it with: sagepipe run --resume {execution_id})"
    ) from None


def _open(options: RunOptions) -> tuple[Path, RunStore, Any]:
    from sagepipe.storage import get_storage, sagepipe_home

    home = (options.home or sagepipe_home()).absolute()
    storage = get_storage(options.storage, home)
    store = RunStore.open(home)
    keep_reserve(store.path)
    return home, store, storage


def _check_options(options: RunOptions) -> None:
    if options.max_parallel < 1:
        raise EngineError(f"--max-parallel must be at least 1, got {options.max_parallel}")
