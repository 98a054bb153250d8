"""The one exception hierarchy of sagepipe.

Every error a user can cause is a :class:`SagepipeError`; its message says what is wrong,
where, and how to fix it. The CLI prints the message on one line and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``.

    Used only to word error messages: nothing is ever decided by similarity.
    """
    matches = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


class SagepipeError(Exception):
    """Base class of every error sagepipe raises for a user mistake or a failed operation."""


class ProblemsError(SagepipeError):
    """Several independent problems found together; the CLI prints one line for each.

    Attributes:
        problems: One line per problem.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(SagepipeError):
    """A configuration value or file is invalid."""


class ConfigFileError(ConfigError):
    """A configuration file cannot be read or has the wrong structure."""


class PipelineDefinitionError(SagepipeError):
    """A pipeline, step or parameter is declared inconsistently."""


class UnknownNodeError(PipelineDefinitionError):
    """A DAG edge or lookup names a node that does not exist."""


class CycleError(PipelineDefinitionError):
    """The DAG has a cycle."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "the pipeline DAG has a cycle: " + " -> ".join(cycle) + "; remove one of these edges"
        )


class DependencyResolutionError(PipelineDefinitionError):
    """A step input cannot be wired from its predecessors' outputs."""


class PropertyPathError(PipelineDefinitionError):
    """A step property reference names an attribute the step does not have."""


class PipelineLoadError(SagepipeError):
    """A PIPELINE argument (config file or ``file.py:attribute``) cannot be loaded."""


class MissingDependencyError(SagepipeError):
    """A module that the requested operation needs is not installed; the message says which
    package or extra to install."""
