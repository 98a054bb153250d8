"""SageMaker's API model for validation: the shapes (from the leaf
:mod:`sagepipe.service_model`), the members the service fills in, lengths and patterns.

Patterns in the model are Java regular expressions; the few Unicode classes they
use (``\\p{L}``, ``\\p{N}``...) are translated to looser Python classes, so a translated pattern
never rejects a value the service accepts. A pattern that still does not compile is not
checked; :data:`UNCHECKED_PATTERNS` lists those shapes.
"""

from __future__ import annotations

import functools
import re

from sagepipe.service_model import (
    STEP_APIS,
    request_shape,
    response_shape,
    service_model,
    shape,
)

__all__ = [
    "SERVICE_FILLED",
    "STEP_APIS",
    "UNCHECKED_PATTERNS",
    "max_length",
    "pattern",
    "request_shape",
    "response_shape",
    "service_model",
    "shape",
]

#: Required request members that SageMaker Pipelines fills in at run time (job and model
#: names are generated per execution).
SERVICE_FILLED: dict[str, frozenset[str]] = {
    "CreateTrainingJob": frozenset({"TrainingJobName"}),
    "CreateProcessingJob": frozenset({"ProcessingJobName"}),
    "CreateTransformJob": frozenset({"TransformJobName"}),
    "CreateModel": frozenset({"ModelName"}),
}

UNCHECKED_PATTERNS: set[str] = set()

# Java Unicode classes -> Python class contents that accept at least as much.
_JAVA_CLASSES = {
    "L": r"\w",
    "N": r"\w",
    "M": r"\S",
    "S": r"\S",
    "P": r"\S",
    "Z": r"\s",
    "Alnum": "a-zA-Z0-9",
}
_JAVA_CLASS = re.compile(r"\\p\{(\w+)\}")


def max_length(shape_name: str) -> int:
    return int(shape(shape_name)["max"])


@functools.cache
def pattern(shape_name: str) -> re.Pattern[str] | None:
    """The compiled pattern of a string shape, ``None`` when it has none (or cannot be
    translated: see :data:`UNCHECKED_PATTERNS`)."""
    raw = shape(shape_name).get("pattern")
    if raw is None:
        return None
    translated = _JAVA_CLASS.sub(lambda m: _JAVA_CLASSES.get(m.group(1), r"\S\s"), raw)
    translated = re.sub(r"\$\{\d+,\d+\}", "$", translated)  # "$" repeated, as Java allows
    try:
        return re.compile(translated, re.DOTALL)
    except re.error:
        UNCHECKED_PATTERNS.add(shape_name)
        return None
