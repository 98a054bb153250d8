"""Every check of a definition before anything runs, and the definition that passed them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sagepipe.local.caching import duration_seconds
from sagepipe.local.calls import call_target, load_call
from sagepipe.local.definition.checks import definition_problems
from sagepipe.local.definition.errors import DefinitionCheckError, DefinitionProblemsError
from sagepipe.local.definition.graph import DefinitionGraph
from sagepipe.local.definition.model import Definition, JobStep
from sagepipe.local.definition.reading import definition_from_json
from sagepipe.local.errors import UnknownStepTypeError
from sagepipe.local.records import ExecutionRecord


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
