"""Find the ``Get`` references in a definition: where each one is and what it reads.

A ``Get`` may stand anywhere in a step's ``Arguments``: as a value, inside ``Std:Join``'s
``Values``, as ``Std:JsonGet``'s ``PropertyFile``, in a condition's operands. The walk looks
at every JSON value, so no place is missed; the graph and the checks both use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sagepipe.local.definition.model import ConditionStep, FailStep, JobStep


@dataclass(frozen=True)
class Reference:
    """One ``{"Get": ...}``.

    Attributes:
        path: Its JSON path inside the step (``Arguments.HyperParameters.epochs``).
        get: What it reads (``Parameters.Epochs``, ``Steps.train.ModelArtifacts...``).
    """

    path: str
    get: str

    @property
    def step_name(self) -> str | None:
        """The step a ``Steps.<step>...`` reference reads; ``None`` for other references."""
        head, _, rest = self.get.partition(".")
        return rest.partition(".")[0] if head == "Steps" else None


def references_in(value: Any, path: str) -> Iterator[Reference]:
    """Every ``Get`` inside a JSON value, with its path below ``path``."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield Reference(path, value["Get"])
            return
        for key, item in value.items():
            yield from references_in(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from references_in(item, f"{path}[{index}]")


def step_arguments(step: JobStep | ConditionStep | FailStep) -> tuple[str, Any]:
    """Where a step's own expressions live: ``(path, JSON value)`` (a condition's branches are
    steps of their own, so only its ``Conditions`` count)."""
    if isinstance(step, ConditionStep):
        conditions = [c.model_dump(exclude_unset=True) for c in step.Arguments.Conditions]
        return "Arguments.Conditions", conditions
    if isinstance(step, FailStep):
        return "Arguments.ErrorMessage", step.Arguments.ErrorMessage
    return "Arguments", step.Arguments


def step_references(step: JobStep | ConditionStep | FailStep) -> Iterator[Reference]:
    """The references of one step's own arguments (see :func:`step_arguments`)."""
    path, value = step_arguments(step)
    yield from references_in(value, path)


def json_gets_in(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every ``Std:JsonGet`` body inside a JSON value, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Std:JsonGet":
                yield f"{path}.{key}", item
            yield from json_gets_in(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from json_gets_in(item, f"{path}[{index}]")
