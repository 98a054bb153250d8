"""Local implementations of the SageMaker API calls that pipeline definition steps ask for.

A definition step's ``Arguments`` are the request of one API call (a ``Processing`` step's
are a CreateProcessingJob request, a ``Training`` step's a CreateTrainingJob request, ...).
The engine evaluates them into a concrete request and hands it to the implementation of that
call, inside the step's own process; the implementation does locally what SageMaker would do
and returns the step's properties, shaped like the matching Describe* response.

``Condition`` and ``Fail`` steps run in the engine itself: they call no API.

Implementations are imported lazily: a step process imports only its own.
"""

from __future__ import annotations

import importlib

from sagepipe.local.calls.base import CallContext, LocalCall, StepOutcome
from sagepipe.local.errors import UnknownStepTypeError

_IMPLEMENTATIONS: dict[str, str] = {
    "Processing": "sagepipe.local.calls.processing:ProcessingJob",
    "Training": "sagepipe.local.calls.training:TrainingJob",
    "Model": "sagepipe.local.calls.model:CreateModel",
    "CreateModel": "sagepipe.local.calls.model:CreateModel",
    "RegisterModel": "sagepipe.local.calls.model_package:CreateModelPackage",
    "Transform": "sagepipe.local.calls.transform:TransformJob",
    "EndpointConfig": "sagepipe.local.calls.endpoint:CreateEndpointConfig",
    "Endpoint": "sagepipe.local.calls.endpoint:CreateEndpoint",
}
"""Definition step ``Type`` -> ``module:class`` of its local implementation."""

LOCAL_STEP_TYPES = frozenset(_IMPLEMENTATIONS)


def local_call(step_type: str) -> LocalCall:
    """The local implementation of a definition step type.

    Raises:
        UnknownStepTypeError: the type has no local implementation.
    """
    return load_call(call_target(step_type))


def call_target(step_type: str) -> str:
    """``module:class`` of the local implementation of a step type: the engine hands it to the
    step process, which imports only that.

    Raises:
        UnknownStepTypeError: the type has no local implementation.
    """
    target = _IMPLEMENTATIONS.get(step_type)
    if target is None:
        known = ", ".join(sorted(_IMPLEMENTATIONS))
        raise UnknownStepTypeError(
            f"step type {step_type!r} has no local implementation; the local engine runs {known}"
        )
    return target


def load_call(target: str) -> LocalCall:
    """An instance of the implementation ``target`` (``module:class``) names."""
    module_name, _, class_name = target.partition(":")
    implementation: LocalCall = getattr(importlib.import_module(module_name), class_name)()
    return implementation


__all__ = [
    "LOCAL_STEP_TYPES",
    "CallContext",
    "LocalCall",
    "StepOutcome",
    "call_target",
    "load_call",
    "local_call",
]
