"""The local engine's entry points: run a SageMaker pipeline definition, resume an execution.

Example:
    >>> definition = read_definition(Path("pipeline.json"))
    >>> outcome = run_definition(definition, {"Epochs": "3"}, RunOptions(), name="pipeline")
    >>> outcome.status
    'Succeeded'
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from sagepipe.local.definition.model import Definition
from sagepipe.local.definition.parameters import bind_parameters
from sagepipe.local.errors import EngineError, RunStoreError
from sagepipe.local.liveness import live_step_processes, reconcile
from sagepipe.local.progress import Reporter, SilentReporter
from sagepipe.local.records import DONE_STATUSES, ExecutionRecord, ExecutionStatus, StepRecord
from sagepipe.local.requests import DEFAULT_REGION, ExecutionIdentity
from sagepipe.local.runnable import RunnableDefinition, check_runnable, recorded_definition
from sagepipe.local.store import RunStore
from sagepipe.local.store.diagnosis import keep_reserve
from sagepipe.processes import process_running, process_start_time

if TYPE_CHECKING:
    from sagepipe.local.scheduler import SchedulerSettings

_ID_ALPHABET = string.ascii_lowercase + string.digits


class _Stoppable(Protocol):
    reporter: Reporter

    def abort(self, reason: str) -> None: ...


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


def run_definition(
    definition: Definition,
    parameters: Mapping[str, str] | None = None,
    options: RunOptions | None = None,
    reporter: Reporter | None = None,
    *,
    name: str,
    root: Path | None = None,
    region: str = DEFAULT_REGION,
    source_ir: str = "",
) -> ExecutionOutcome:
    """Run a definition locally as a new execution.

    Args:
        definition: The definition.
        parameters: ``--param`` values by name, as text.
        options: How to run.
        reporter: Receives progress; default silent.
        name: The pipeline's name (a definition does not hold one).
        root: The directory the definition came from (recorded with the execution).
        region: The execution's region (ARNs, ``AWS_REGION`` in containers).
        source_ir: The sagepipe pipeline the definition was compiled from (its IR as JSON),
            recorded so that a resume can compile it again with fixed code.

    Raises:
        DefinitionError: a problem found before anything runs (nothing is recorded).
    """
    options = options or RunOptions()
    _check_options(options)
    runnable = check_runnable(definition)
    values = bind_parameters(definition, parameters or {})
    home, store, storage = _open(options)
    record = ExecutionRecord(
        execution_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(12)),
        pipeline_name=name,
        ir_json=source_ir,
        root=str((root or Path.cwd()).absolute()),
        parameters=dict(values),
        status=ExecutionStatus.EXECUTING,
        storage=storage.backend,
        start_time=time.time(),
        end_time=None,
        failure_reason=None,
        engine_pid=os.getpid(),
        engine_start=process_start_time(os.getpid()),
        definition_json=definition_text(definition),
    )
    order = runnable.graph.static_order()
    steps = [(n, runnable.graph.steps[n].step.Type) for n in order]
    store.create_execution(record, steps)
    identity = ExecutionIdentity(name, record.execution_id, record.start_time, region)
    return _run(runnable, record, identity, store, storage, options, home, reporter, {})


def resume_execution(
    execution_id: str,
    options: RunOptions | None = None,
    reporter: Reporter | None = None,
    definition: Definition | None = None,
    region: str = DEFAULT_REGION,
) -> ExecutionOutcome:
    """Run again the failed, stopped and not-run steps of an execution (same id; the
    outputs and properties of its succeeded steps are kept, and so are its parameters).

    Args:
        execution_id: The execution.
        options: How to run.
        reporter: Receives progress.
        definition: The definition to run instead of the recorded one, with the same steps
            (``sagepipe run --resume`` compiles a sagepipe pipeline again, so fixed code gets
            new bundles); it is recorded.
        region: The execution's region (as :func:`run_definition` was given it).

    Raises:
        ExecutionNotFoundError: if there is no such execution.
        EngineError: if it is still running, its storage backend differs, or it was recorded
            by a sagepipe that ran pipelines without a definition.
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
    if record.definition_json is None:
        raise EngineError(
            f"execution {execution_id} was recorded by an earlier sagepipe, which ran "
            "pipelines without a SageMaker definition; run the pipeline again instead"
        )
    live = live_step_processes(store.steps(execution_id))
    if live:
        step = live[0]
        raise EngineError(
            f"execution {execution_id} cannot be resumed yet: the process of its step "
            f"{step.name!r} (pid {step.pid}) still runs in the step's directory; wait for it "
            f"to end, or end it with: kill -- -{step.pid}"
        )
    runnable = recorded_definition(record, definition)
    done = {
        s.name: s.properties or {} for s in store.steps(execution_id) if s.status in DONE_STATUSES
    }
    _mark_resumed(store, execution_id)
    if definition is not None:
        store.update_execution(execution_id, definition_json=definition_text(definition))
    identity = ExecutionIdentity(
        record.pipeline_name, record.execution_id, record.start_time, region
    )
    return _run(runnable, record, identity, store, storage, options, home, reporter, done)


def definition_text(definition: Definition) -> str:
    """The JSON an execution records of its definition."""
    return json.dumps(definition.model_dump(mode="json"), sort_keys=True)


def _mark_resumed(store: RunStore, execution_id: str) -> None:
    store.update_execution(
        execution_id,
        status="Executing",
        end_time=None,
        failure_reason=None,
        engine_pid=os.getpid(),
        engine_start=process_start_time(os.getpid()),
    )


def _run(
    runnable: RunnableDefinition,
    record: ExecutionRecord,
    identity: ExecutionIdentity,
    store: RunStore,
    storage: object,
    options: RunOptions,
    home: Path,
    reporter: Reporter | None,
    done: Mapping[str, Mapping[str, object]],
) -> ExecutionOutcome:
    from sagepipe.local.scheduler import Scheduler

    scheduler = Scheduler(
        definition=runnable.definition,
        graph=runnable.graph,
        calls=runnable.calls,
        execution=record,
        identity=identity,
        store=store,
        storage=storage,  # type: ignore[arg-type]
        settings=_settings(options, home),
        reporter=reporter or SilentReporter(),
        properties={name: dict(values) for name, values in done.items()},
    )
    names = list(runnable.graph.static_order())
    return _drive(scheduler, scheduler.run, record, store, names)


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
