"""Execute a SageMaker pipeline definition locally: check it, bind its parameters, record an
execution, and run its steps (:mod:`sagepipe.local.definition_scheduler`).

Example:
    >>> definition = read_definition(Path("pipeline.json"))
    >>> outcome = run_definition(definition, {"Epochs": "3"}, name="pipeline")
    >>> outcome.status
    'Succeeded'
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sagepipe.local.caching import duration_seconds
from sagepipe.local.calls import call_target, load_call
from sagepipe.local.definition.checks import definition_problems
from sagepipe.local.definition.errors import DefinitionCheckError, DefinitionProblemsError
from sagepipe.local.definition.graph import DefinitionGraph
from sagepipe.local.definition.model import Definition, JobStep
from sagepipe.local.definition.parameters import bind_parameters
from sagepipe.local.definition.reading import definition_from_json
from sagepipe.local.engine import (
    _ID_ALPHABET,
    ExecutionOutcome,
    RunOptions,
    _check_options,
    _drive,
    _open,
    _settings,
)
from sagepipe.local.errors import UnknownStepTypeError
from sagepipe.local.progress import Reporter, SilentReporter
from sagepipe.local.records import ExecutionRecord, ExecutionStatus
from sagepipe.local.requests import DEFAULT_REGION, ExecutionIdentity
from sagepipe.local.store import RunStore
from sagepipe.processes import process_start_time


@dataclass(frozen=True)
class RunnableDefinition:
    """A definition that passed every check before a run.

    Attributes:
        definition: The definition.
        graph: Its dependency graph.
        calls: ``module:class`` of the local implementation of each job step, by step name.
    """

    definition: Definition
    graph: DefinitionGraph
    calls: dict[str, str]


def check_runnable(definition: Definition) -> RunnableDefinition:
    """Every check before anything runs: the definition's own (references, names, cycles),
    each job step's local implementation (its image, features with no local meaning), and
    each ``CacheConfig.ExpireAfter``.

    Raises:
        DefinitionProblemsError: every problem found, one line each.
    """
    problems = definition_problems(definition)
    calls: dict[str, str] = {}
    for placed in definition.placed_steps():
        step = placed.step
        if not isinstance(step, JobStep):
            continue
        prefix = f"step {step.Name!r} ({placed.path})"
        try:
            calls[step.Name] = call_target(step.Type)
        except UnknownStepTypeError as exc:
            problems.append(f"{prefix}: {exc}")
            continue
        problems.extend(load_call(calls[step.Name]).problems(step.Name, step.Arguments))
        expire = step.CacheConfig.ExpireAfter if step.CacheConfig else None
        if expire is not None:
            try:
                duration_seconds(expire)
            except ValueError as exc:
                problems.append(f"{prefix}: CacheConfig.ExpireAfter: {exc}")
    if problems:
        raise DefinitionProblemsError(problems)
    return RunnableDefinition(definition, DefinitionGraph(definition), calls)


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


def recorded_definition(
    record: ExecutionRecord, replacement: Definition | None = None
) -> RunnableDefinition:
    """The definition an execution recorded (or its ``replacement``), checked again.

    Raises:
        DefinitionError: it no longer passes the checks (e.g. an image this version refuses),
            or the replacement's steps are not the recorded ones.
    """
    recorded = definition_from_json(
        json.loads(record.definition_json or "{}"), source=f"execution {record.execution_id}"
    )
    if replacement is not None:
        names = sorted(p.step.Name for p in recorded.placed_steps())
        if sorted(p.step.Name for p in replacement.placed_steps()) != names:
            raise DefinitionCheckError(
                f"execution {record.execution_id} ran the steps {', '.join(names)}; the "
                "pipeline now has other steps: run it as a new execution"
            )
        recorded = replacement
    return check_runnable(recorded)


def definition_text(definition: Definition) -> str:
    """The JSON an execution records of its definition."""
    return json.dumps(definition.model_dump(mode="json"), sort_keys=True)


def resume_definition(
    runnable: RunnableDefinition,
    record: ExecutionRecord,
    store: RunStore,
    storage: object,
    options: RunOptions,
    home: Path,
    reporter: Reporter | None,
    done: dict[str, dict[str, object]],
) -> ExecutionOutcome:
    """Run again the steps of an execution of a definition that are not done (its recorded
    definition and parameters; the properties of its done steps are kept)."""
    identity = ExecutionIdentity(record.pipeline_name, record.execution_id, record.start_time)
    return _run(runnable, record, identity, store, storage, options, home, reporter, done)


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
    from sagepipe.local.definition_scheduler import DefinitionScheduler

    scheduler = DefinitionScheduler(
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
