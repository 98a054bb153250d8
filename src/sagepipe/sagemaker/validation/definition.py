"""Checks of a whole definition: its form, step names, references and size."""

from __future__ import annotations

import json
import re
from typing import Any

from sagepipe.sagemaker.validation import service
from sagepipe.sagemaker.validation.arguments import ArgumentChecker

_STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
_TOP_LEVEL = ("Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps")


def validate_definition(
    definition: dict[str, Any], apis: dict[str, str] | None = None
) -> list[str]:
    """Every problem of ``definition``; an empty list when SageMaker should accept it.

    Args:
        definition: A pipeline definition.
        apis: The API of each step's ``Arguments`` by step name; by default taken from the
            step's ``Type``.
    """
    problems: list[str] = []
    missing = [key for key in _TOP_LEVEL if key not in definition]
    if missing:
        problems.append(f"the definition lacks {', '.join(missing)}")
    if definition.get("Version") != "2020-12-01":
        problems.append(f"Version is {definition.get('Version')!r}; it must be '2020-12-01'")
    size = len(json.dumps(definition, sort_keys=True, separators=(",", ":")))
    limit = service.max_length("PipelineDefinition")
    if size > limit:
        problems.append(
            f"the definition is {size} characters; CreatePipeline accepts at most {limit}"
        )
    parameters = _parameters(definition.get("Parameters", []), problems)
    steps = definition.get("Steps", [])
    step_types = _step_types(steps, problems)
    for step in steps:
        name = step.get("Name", "?")
        for upstream in step.get("DependsOn", []):
            if upstream not in step_types:
                problems.append(f"step {name!r}: DependsOn names {upstream!r}, which is not a step")
            if upstream == name:
                problems.append(f"step {name!r}: depends on itself")
        api = (apis or {}).get(name) or service.STEP_APIS.get(step.get("Type", ""), ("",))[0]
        if not api:
            problems.append(f"step {name!r}: type {step.get('Type')!r} is not one sagepipe writes")
            continue
        checker = ArgumentChecker(name, parameters, step_types)
        checker.check_request(api, step.get("Arguments"))
        problems.extend(checker.problems)
    return problems


def _parameters(raw: list[dict[str, Any]], problems: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for parameter in raw:
        name = parameter.get("Name", "")
        if name in found:
            problems.append(f"parameter {name!r} is declared twice")
        if parameter.get("Type") not in ("String", "Integer", "Float", "Boolean"):
            problems.append(f"parameter {name!r} has type {parameter.get('Type')!r}")
        found[name] = parameter
    return found


def _step_types(steps: list[dict[str, Any]], problems: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for step in steps:
        name = step.get("Name", "")
        if not _STEP_NAME.match(name):
            problems.append(
                f"step name {name!r} is invalid: use 1-64 letters, digits, hyphens or underscores"
            )
        if name in found:
            problems.append(f"step name {name!r} is used twice; step names must be unique")
        found[name] = step.get("Type", "")
    return found
