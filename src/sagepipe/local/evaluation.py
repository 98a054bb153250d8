"""Evaluate pipeline expressions (SageMaker's JSON form) against an execution's values.

The engine keeps every value an expression can read: the execution's parameters, the
properties each finished step recorded (nested dicts mirroring the Describe* responses, e.g.
``{"ModelArtifacts": {"S3ModelArtifacts": "s3://..."}}``) and the execution variables.
Evaluation walks any JSON value and replaces each ``{"Get": ...}`` and ``{"Std:Join": ...}``
(and ``{"Std:JsonGet": ...}``, given a property file reader) with what it stands for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sagepipe.errors import PropertyPathError, did_you_mean
from sagepipe.expressions import property_path_tokens
from sagepipe.local.definition.jsonpath import read_json_path
from sagepipe.local.errors import ExpressionEvaluationError

_STEP_REF = re.compile(r"^([A-Za-z0-9_\-]+)\.(.+)$")


@dataclass(frozen=True)
class EvaluationContext:
    """The values expressions of one execution can read.

    Attributes:
        parameters: Parameter values by name (defaults already overridden).
        properties: Recorded properties by step name, for the steps that finished.
        execution: Execution variables by name (``PipelineExecutionId``...).
        step_value: Applied to each value read from a step's properties; the cache key uses
            it to replace URIs (which hold execution ids) by digests of their content.
        property_file: Reads a property file (step name, ``PropertyFileName``) as parsed
            JSON, for ``Std:JsonGet``; without it, ``Std:JsonGet`` is walked as plain JSON
            (the engine's IR steps never hold one).
    """

    parameters: Mapping[str, Any]
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    execution: Mapping[str, str] = field(default_factory=dict)
    step_value: Callable[[Any], Any] | None = None
    property_file: Callable[[str, str], Any] | None = None


def evaluate(value: Any, context: EvaluationContext, where: str) -> Any:
    """Return ``value`` with every expression in it replaced by its value.

    Args:
        value: Any JSON value, possibly holding ``Get`` and ``Std:Join`` objects.
        context: What the expressions can read.
        where: Where the value comes from (``step 'train' input 'input_path'``), used in errors.

    Raises:
        ExpressionEvaluationError: naming ``where`` and the reference that cannot be read.
    """
    if isinstance(value, list):
        return [evaluate(item, context, where) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"} and isinstance(value["Get"], str):
        return _get(value["Get"], context, where)
    if set(value) == {"Std:Join"} and isinstance(value["Std:Join"], dict):
        body = value["Std:Join"]
        on = evaluate(body.get("On", ""), context, where)
        parts = [join_text(evaluate(v, context, where)) for v in body.get("Values", [])]
        return join_text(on).join(parts)
    if set(value) == {"Std:JsonGet"} and context.property_file is not None:
        return _json_get(value["Std:JsonGet"], context.property_file, where)
    return {key: evaluate(item, context, where) for key, item in value.items()}


def join_text(value: Any) -> str:
    """The text ``Std:Join`` uses for a value: strings as they are, booleans lowercase."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _json_get(body: Any, read: Callable[[str, str], Any], where: str) -> Any:
    target = body.get("PropertyFile") if isinstance(body, dict) else None
    get = target.get("Get") if isinstance(target, dict) else None
    step, marker, name = str(get).removeprefix("Steps.").partition(".PropertyFiles.")
    path = body.get("Path") if isinstance(body, dict) else None
    if not (isinstance(get, str) and get.startswith("Steps.") and marker and isinstance(path, str)):
        raise ExpressionEvaluationError(
            f"{where}: Std:JsonGet needs {{'PropertyFile': {{'Get': "
            f"'Steps.<step>.PropertyFiles.<name>'}}, 'Path': <JSON path>}}, got {body!r}"
        )
    return read_json_path(read(step, name), path, f"{where} (property file {name!r} of {step!r})")


def _get(reference: str, context: EvaluationContext, where: str) -> Any:
    kind, _, rest = reference.partition(".")
    if kind == "Parameters":
        if rest not in context.parameters:
            raise ExpressionEvaluationError(
                f"{where} reads Parameters.{rest}, which this execution does not define"
                f"{did_you_mean(rest, context.parameters)}; declare the parameter"
            )
        return context.parameters[rest]
    if kind == "Execution":
        if rest not in context.execution:
            raise ExpressionEvaluationError(
                f"{where} reads Execution.{rest}, which is not an execution variable"
                f"{did_you_mean(rest, context.execution)}; known: "
                + ", ".join(sorted(context.execution))
            )
        return context.execution[rest]
    if kind == "Steps":
        found = _step_property(rest, context, where)
        return context.step_value(found) if context.step_value is not None else found
    raise ExpressionEvaluationError(
        f"{where} has {{'Get': {reference!r}}}, which must start with Parameters., Steps. or "
        "Execution."
    )


def _step_property(rest: str, context: EvaluationContext, where: str) -> Any:
    match = _STEP_REF.match(rest)
    if match is None:
        raise ExpressionEvaluationError(
            f"{where} reads Steps.{rest}, which is not Steps.<step>.<property path>"
        )
    step_name, path = match.groups()
    if step_name not in context.properties:
        raise ExpressionEvaluationError(
            f"{where} reads Steps.{rest}, but step {step_name!r} has no recorded properties "
            "in this execution (it has not succeeded); run it first"
        )
    current: Any = context.properties[step_name]
    walked = f"Steps.{step_name}"
    for token in property_tokens(path, where):
        if isinstance(token, int) and isinstance(current, list) and token < len(current):
            current = current[token]
            walked += f"[{token}]"
            continue
        named = _named_item(current, token)
        if named is not None:
            current = named
            walked += f"['{token}']"
            continue
        if not isinstance(current, Mapping) or token not in current:
            have = sorted(current) if isinstance(current, Mapping) else []
            raise ExpressionEvaluationError(
                f"{where} reads Steps.{rest}, but {walked} has no property {token!r}"
                f"{did_you_mean(str(token), have)}; it has: {', '.join(have) or 'nothing'}"
            )
        current = current[token]
        walked += f"['{token}']" if not str(token).isidentifier() else f".{token}"
    return current


def _named_item(items: Any, name: str | int) -> Any:
    """The item of a Describe* list that carries ``name`` as its name (``OutputName``,
    ``MetricName``...): ``Outputs['train']`` indexes a list by name, as the SDK's
    ``PropertiesList`` writes it. ``None`` when ``items`` is no list or no item matches."""
    if not isinstance(items, list) or not isinstance(name, str):
        return None
    for item in items:
        if isinstance(item, Mapping) and any(
            key.endswith("Name") and value == name for key, value in item.items()
        ):
            return item
    return None


def property_tokens(path: str, where: str = "a property path") -> list[str | int]:
    """Split ``ProcessingOutputConfig.Outputs['x'].S3Output.S3Uri`` into its keys
    (``[0]`` gives the index ``0``)."""
    try:
        return [token.key for token in property_path_tokens(path)]
    except PropertyPathError as exc:
        raise ExpressionEvaluationError(f"{where}: {exc}") from None
