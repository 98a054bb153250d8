"""SageMaker's API model, as botocore ships it: shapes, request shapes, response shapes.

Loaded once per process with ``botocore.loaders`` (offline: the model is a file inside
botocore). Patterns in the model are Java regular expressions; the few Unicode classes they
use (``\\p{L}``, ``\\p{N}``...) are translated to looser Python classes, so a translated pattern
never rejects a value the service accepts. A pattern that still does not compile is not
checked; :data:`UNCHECKED_PATTERNS` lists those shapes.
"""

from __future__ import annotations

import functools
import re
from typing import Any

#: The API whose request a step's ``Arguments`` is, and the response its properties mirror.
STEP_APIS: dict[str, tuple[str, str]] = {
    "Training": ("CreateTrainingJob", "DescribeTrainingJob"),
    "Processing": ("CreateProcessingJob", "DescribeProcessingJob"),
    "Transform": ("CreateTransformJob", "DescribeTransformJob"),
    "Model": ("CreateModel", "DescribeModel"),
    "RegisterModel": ("CreateModelPackage", "DescribeModelPackage"),
    "EndpointConfig": ("CreateEndpointConfig", "DescribeEndpointConfig"),
    "Endpoint": ("CreateEndpoint", "DescribeEndpoint"),
}

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


@functools.cache
def service_model() -> dict[str, Any]:
    """botocore's ``sagemaker`` service model (``service-2``)."""
    import botocore.loaders

    model: dict[str, Any] = botocore.loaders.create_loader().load_service_model(
        "sagemaker", "service-2"
    )
    return model


def shape(name: str) -> dict[str, Any]:
    found: dict[str, Any] = service_model()["shapes"][name]
    return found


def request_shape(api: str) -> str:
    """Name of the request shape of ``api`` (e.g. ``CreateTrainingJobRequest``)."""
    return str(service_model()["operations"][api]["input"]["shape"])


def response_shape(api: str) -> str:
    return str(service_model()["operations"][api]["output"]["shape"])


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
