"""The dependency graph of a definition, and the order its steps may run in.

A step depends on every step it reads (``Get`` of ``Steps.<step>...`` anywhere in its
``Arguments``, inside ``Std:Join`` and ``Std:JsonGet`` and in a condition's operands), on the
steps its ``DependsOn`` names, and, inside a condition's ``IfSteps`` or ``ElseSteps``, on that
condition step. Only the chosen branch of a condition runs: the steps of the other branch are
"not run", and so is every step that depends on a step not run.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable

from sagepipe.local.definition.errors import DefinitionCheckError
from sagepipe.local.definition.model import (
    Branch,
    ConditionStep,
    Definition,
    PlacedStep,
)
from sagepipe.local.definition.references import step_references


class DefinitionGraph:
    """Steps by name and the steps each one depends on.

    Args:
        definition: The definition; its references must name existing steps (see
            :mod:`.checks`, which runs first).

    Raises:
        DefinitionCheckError: A reference or ``DependsOn`` names a step that does not exist.
    """

    def __init__(self, definition: Definition) -> None:
        self.steps: dict[str, PlacedStep] = {p.step.Name: p for p in definition.placed_steps()}
        self.dependencies: dict[str, frozenset[str]] = {}
        for name, placed in self.steps.items():
            upstream = set(placed.step.DependsOn)
            upstream.update(
                r.step_name for r in step_references(placed.step) if r.step_name is not None
            )
            if placed.condition is not None:
                upstream.add(placed.condition)
            missing = sorted(upstream - set(self.steps))
            if missing:
                raise DefinitionCheckError(
                    f"step {name!r} ({placed.path}) depends on {', '.join(map(repr, missing))}, "
                    "which is not a step of the definition"
                )
            self.dependencies[name] = frozenset(upstream)

    def dependents(self) -> dict[str, frozenset[str]]:
        """The steps that depend on each step."""
        found: dict[str, set[str]] = {name: set() for name in self.steps}
        for name, upstream in self.dependencies.items():
            for parent in upstream:
                found[parent].add(name)
        return {name: frozenset(children) for name, children in found.items()}

    def branch(self, condition: str, branch: Branch) -> tuple[str, ...]:
        """The names of the steps directly in ``condition``'s ``IfSteps`` or ``ElseSteps``."""
        step = self.steps[condition].step
        if not isinstance(step, ConditionStep):
            raise DefinitionCheckError(f"step {condition!r} is not a Condition step")
        return tuple(s.Name for s in getattr(step.Arguments, branch))

    def cycle(self) -> list[str] | None:
        """The steps on a dependency cycle, first repeated last (``a, b, a``); ``None``."""
        try:
            graphlib.TopologicalSorter(self.dependencies).prepare()
        except graphlib.CycleError as exc:
            # graphlib lists each step before the steps that depend on it: the run order.
            return list(exc.args[1])
        return None

    def static_order(self) -> tuple[str, ...]:
        """Every step, each after the steps it depends on (ties by name)."""
        order = self.order()
        found: list[str] = []
        while order.is_active():
            ready = order.get_ready()
            found.extend(ready)
            order.done(*ready)
        return tuple(found)

    def order(self) -> ExecutionOrder:
        """A fresh :class:`ExecutionOrder` over this graph."""
        return ExecutionOrder(self)


class ExecutionOrder:
    """Which steps may run now: ``graphlib.TopologicalSorter`` semantics (``get_ready`` /
    ``done``), plus steps that will not run (the branch a condition did not choose).

    Raises:
        DefinitionCheckError: At creation, when the steps form a cycle.
    """

    def __init__(self, graph: DefinitionGraph) -> None:
        cycle = graph.cycle()
        if cycle is not None:
            raise DefinitionCheckError(cycle_message(cycle))
        self._graph = graph
        self._dependents = graph.dependents()
        self._sorter = graphlib.TopologicalSorter(graph.dependencies)
        self._sorter.prepare()
        self._not_run: set[str] = set()
        self._passed: list[str] = []

    def is_active(self) -> bool:
        """Whether steps remain to be handed out or finished."""
        return self._sorter.is_active()

    def get_ready(self) -> tuple[str, ...]:
        """The steps that may start now, sorted by name.

        Steps marked not run are never returned: they are passed over (and their dependents
        marked not run too) as soon as they would be ready.
        """
        while True:
            ready = self._sorter.get_ready()
            skipped = sorted(name for name in ready if name in self._not_run)
            for name in skipped:
                self._not_run.update(self._dependents[name])
                self._passed.append(name)
                self._sorter.done(name)
            runnable = tuple(sorted(name for name in ready if name not in self._not_run))
            if runnable or not skipped:
                return runnable

    def done(self, *names: str) -> None:
        """Mark steps handed out by :meth:`get_ready` as finished."""
        self._sorter.done(*names)

    def not_run(self, names: Iterable[str]) -> None:
        """Mark steps (and, when they come up, their dependents) as not to be run."""
        self._not_run.update(names)

    def choose(self, condition: str, outcome: bool) -> None:
        """Record a condition's outcome: the other branch is not run. Call before the
        ``get_ready()`` that follows ``done(condition)``."""
        self.not_run(self._graph.branch(condition, "ElseSteps" if outcome else "IfSteps"))

    @property
    def passed_over(self) -> tuple[str, ...]:
        """The steps not run so far, in the order they were passed over."""
        return tuple(self._passed)


def cycle_message(cycle: list[str]) -> str:
    """The one-line error for a dependency cycle."""
    return (
        f"the steps form a dependency cycle: {' -> '.join(cycle)}; remove one of these "
        "dependencies (a Get, a DependsOn or a condition branch)"
    )
