"""Errors of reading and checking a pipeline definition: each one line, naming where."""

from __future__ import annotations

from sagepipe.errors import PipelineDefinitionError, ProblemsError
from sagepipe.local.errors import ExpressionEvaluationError


class DefinitionError(PipelineDefinitionError):
    """A pipeline definition cannot be executed as it is (nothing has run)."""


class DefinitionReadError(DefinitionError):
    """A file or text is not valid JSON, not a definition, or breaks the definition's schema;
    the message names the source and the JSON path of the problem."""


class UnknownStepTypeError(DefinitionReadError):
    """A step's ``Type`` is not a SageMaker step type."""


class UnsupportedStepTypeError(DefinitionReadError):
    """Steps whose type has no local meaning (Lambda, EMR, ...); the message lists each one."""


class DefinitionCheckError(DefinitionError):
    """A static check failed: a reference to nothing, a duplicate name, a cycle..."""


class DefinitionProblemsError(DefinitionCheckError, ProblemsError):
    """Every problem found before a run (the definition's and its steps'), one line each."""


class ParameterValueError(DefinitionError):
    """A ``--param NAME=VALUE`` names no parameter or has the wrong type."""


class JsonPathError(ExpressionEvaluationError):
    """A ``Std:JsonGet`` path cannot be read, or the property file lacks what it names."""


class ConditionEvaluationError(ExpressionEvaluationError):
    """A condition compares values that cannot be compared (a string with a number)."""
