"""Read a SageMaker pipeline definition from a file or text.

Accepted: the definition object itself (as ``CreatePipeline`` takes it, as sagepipe's compiler
and the SageMaker Python SDK's ``Pipeline.definition()`` write it), that definition stored as
a JSON string (``json.dump(pipeline.definition(), f)`` writes the SDK's string once more), and
a ``describe-pipeline`` response whose ``PipelineDefinition`` holds it (a JSON string, as the
API returns it, or an object).

Every problem is one line naming the source and the JSON path where it is. Step types with
no local meaning are refused together, each step named with its type, before anything runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from sagepipe.local.definition.errors import (
    DefinitionReadError,
    UnknownStepTypeError,
    UnsupportedStepTypeError,
)
from sagepipe.local.definition.model import (
    KNOWN_STEP_TYPES,
    NO_LOCAL_MEANING,
    ComparisonType,
    Definition,
)

# Discriminator values pydantic puts into an error's location; they are not JSON keys.
_TAGS = frozenset((*KNOWN_STEP_TYPES, *get_args(ComparisonType), "In", "Not", "Or"))


def read_definition(text_or_path: str | Path, *, source: str | None = None) -> Definition:
    """Read and model a pipeline definition.

    Args:
        text_or_path: A :class:`~pathlib.Path` to read, or the JSON text itself.
        source: What to call the input in messages; by default the path (``<text>`` for text).

    Raises:
        DefinitionReadError: Not readable, not valid JSON, not a definition, or a schema
            problem (the message names ``source`` and the JSON path).
        UnknownStepTypeError: A step type SageMaker does not define.
        UnsupportedStepTypeError: Steps whose type has no local meaning (each one listed).
    """
    if isinstance(text_or_path, Path):
        name = source or str(text_or_path)
        try:
            text = text_or_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DefinitionReadError(f"{name}: cannot read the definition: {exc}") from None
    else:
        name, text = source or "<text>", text_or_path
    what = "the file" if isinstance(text_or_path, Path) else "the text"
    return definition_from_json(_parse(text, name, what), source=name)


def definition_from_json(value: Any, *, source: str) -> Definition:
    """Model an already parsed JSON value (see :func:`read_definition` for what it accepts)."""
    root = "$"
    if isinstance(value, str):
        value = _parse(value, source, "the JSON string it holds")
    if isinstance(value, dict) and "PipelineDefinition" in value:
        root = "$.PipelineDefinition"
        value = value["PipelineDefinition"]
        if isinstance(value, str):
            value = _parse(value, source, "its PipelineDefinition string")
    if not isinstance(value, dict) or "Steps" not in value:
        found = (
            f"an object with {', '.join(sorted(value)) or 'no keys'}"
            if isinstance(value, dict)
            else _kind(value)
        )
        raise DefinitionReadError(
            f"{source}: {root}: not a pipeline definition: expected an object with Version and "
            f"Steps (or a describe-pipeline response with PipelineDefinition), found {found}"
        )
    _check_step_types(value, source, root)
    try:
        return Definition.model_validate(value)
    except ValidationError as exc:
        raise DefinitionReadError(_first_problem(exc, source, root)) from None


def _parse(text: str, source: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionReadError(
            f"{source}: {what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _check_step_types(definition: dict[str, Any], source: str, root: str) -> None:
    refused: list[str] = []
    for path, step in _raw_steps(definition.get("Steps"), f"{root}.Steps"):
        step_type, name = step.get("Type"), step.get("Name")
        if step_type in NO_LOCAL_MEANING:
            refused.append(f"{name!r} ({step_type}) at {path}")
        elif isinstance(step_type, str) and step_type not in KNOWN_STEP_TYPES:
            raise UnknownStepTypeError(
                f"{source}: {path}.Type: step {name!r} has type {step_type!r}, which is not a step "
                f"type sagepipe knows; known: {', '.join(KNOWN_STEP_TYPES + NO_LOCAL_MEANING)}"
            )
    if refused:
        raise UnsupportedStepTypeError(
            f"{source}: refused before anything runs: {len(refused)} step(s) of a type with no "
            f"local meaning: {'; '.join(refused)}; run this pipeline on SageMaker, or remove "
            "these steps to run the rest locally"
        )


def _raw_steps(steps: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every step object in a raw ``Steps`` list, condition branches included."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(steps, list):
        return found
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        here = f"{path}[{index}]"
        found.append((here, step))
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for branch in ("IfSteps", "ElseSteps"):
                found.extend(_raw_steps(arguments.get(branch), f"{here}.Arguments.{branch}"))
    return found


def _first_problem(exc: ValidationError, source: str, root: str) -> str:
    errors = exc.errors(include_url=False)
    error = errors[0]
    path = root
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _TAGS:  # no key of the modelled parts of a definition is a tag
            path += f".{part}"
    kind = error["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a key SageMaker's schema allows here"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind not in ("value_error", "union_tag_invalid"):
            message += f", not {_kind(error['input'])} {error['input']!r}"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{source}: {path}: {message}{more}"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else f"a {type(value).__name__}")
