"""Errors of the local engine."""

from __future__ import annotations

from typing import Any

from sagepipe.errors import PipelineDefinitionError, SagepipeError


class EngineError(SagepipeError):
    """The local engine cannot run or resume an execution."""


class UnknownStepTypeError(PipelineDefinitionError):
    """A step's type has no local implementation."""


class ExpressionEvaluationError(EngineError):
    """A pipeline expression cannot be evaluated against an execution's values."""


class ExecutionNotFoundError(EngineError):
    """An execution id names no execution in the run store."""


class ModelNotFoundError(EngineError):
    """No model step created a model of the given name."""


class StepFailure(SagepipeError):
    """Raised inside a step process: the step failed, with ``reason`` as its failure reason.

    ``properties``, when given, are what the failed job's Describe* response would say
    (``FailureReason``, ``ExitMessage``...), for the execution's record.
    """

    def __init__(self, reason: str, properties: dict[str, Any] | None = None) -> None:
        self.reason = reason
        self.properties = properties
        super().__init__(reason)


class RunStoreError(EngineError):
    """The run store cannot be opened, read or written (a full disk, a file-size limit, a
    read-only or corrupt database); the message names the database and the cause."""
