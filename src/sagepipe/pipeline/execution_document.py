"""Execution documents: the per-step settings a user fills in for one execution.

``sagepipe execution-document PIPELINE`` writes a template with one section per step, each
holding the step's current value of every setting it accepts; ``sagepipe run PIPELINE
--execution-document FILE`` merges the filled-in values into the step configs before
anything runs (they are then part of the execution's recorded IR, so a resume keeps them)::

    {
      "pipeline": "bsm-pytorch-registration",
      "steps": {
        "Model": {},
        "Registration_us-east-1": {
          "approval_status": "PendingManualApproval",
          "customer_metadata": {},
          "model_description": "Binary classifier over three numeric features."
        }
      }
    }

Sections and settings may be left out (the config's value stays); an unknown step or setting
is an error that names it. Values are validated by the rules of the step's config field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from sagepipe.config.base import BasePipelineConfig
from sagepipe.config.registration import RegistrationConfig
from sagepipe.errors import ConfigError, did_you_mean
from sagepipe.pipeline.pipeline import Pipeline

#: The settings of each step type an execution document may set, and the config class whose
#: field rules validate them. Step types not listed here accept none.
EXECUTION_SETTINGS: dict[str, tuple[type[BasePipelineConfig], tuple[str, ...]]] = {
    "RegistrationStep": (
        RegistrationConfig,
        ("approval_status", "model_description", "customer_metadata"),
    ),
}
_TOP_LEVEL = ("pipeline", "steps")


class ExecutionDocumentError(ConfigError):
    """An execution document does not fit the pipeline (unknown step, setting or value)."""


def execution_document_template(pipeline: Pipeline) -> dict[str, Any]:
    """The template: one section per step (in execution order) with its current settings."""
    steps: dict[str, dict[str, Any]] = {}
    for step in pipeline.execution_order():
        _, names = EXECUTION_SETTINGS.get(step.step_type, (BasePipelineConfig, ()))
        steps[step.name] = {name: step.config.get(name) for name in names}
    return {"pipeline": pipeline.name, "steps": steps}


def read_execution_document(path: Path) -> dict[str, Any]:
    """Read an execution document (JSON).

    Raises:
        ExecutionDocumentError: the file is missing or is not a JSON object.
    """
    if not path.is_file():
        raise ExecutionDocumentError(
            f"execution document {path} does not exist; write a template with "
            "sagepipe execution-document PIPELINE -o FILE"
        )
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExecutionDocumentError(
            f"execution document {path} is not valid JSON: {exc}"
        ) from None
    if not isinstance(document, dict):
        raise ExecutionDocumentError(f"execution document {path} must hold a JSON object")
    return document


def apply_execution_document(
    pipeline: Pipeline, document: Mapping[str, Any], source: str = "the execution document"
) -> Pipeline:
    """A copy of ``pipeline`` whose step configs hold the document's settings.

    Raises:
        ExecutionDocumentError: naming every unknown step, unknown setting or invalid value.
    """
    unknown = sorted(set(document) - set(_TOP_LEVEL))
    if unknown:
        raise ExecutionDocumentError(
            f"{source} has unknown top-level keys {unknown}; it holds 'pipeline' and 'steps'"
        )
    named = document.get("pipeline")
    if named is not None and named != pipeline.name:
        raise ExecutionDocumentError(
            f"{source} is for pipeline {named!r}, not {pipeline.name!r}; write a template for "
            "this pipeline with sagepipe execution-document"
        )
    sections = document.get("steps") or {}
    if not isinstance(sections, dict):
        raise ExecutionDocumentError(f"{source}: 'steps' must map step names to settings")
    names = [s.name for s in pipeline.steps]
    problems = [
        f"unknown step {name!r}{did_you_mean(name, names)}"
        for name in sections
        if name not in names
    ]
    updates: dict[str, dict[str, Any]] = {}
    for step in pipeline.steps:
        section = sections.get(step.name)
        if section:
            found, errors = _settings(step.name, step.step_type, section)
            updates[step.name] = found
            problems.extend(errors)
    if problems:
        raise ExecutionDocumentError(
            f"{source} does not fit pipeline {pipeline.name!r}: " + "; ".join(problems)
        )
    steps = [
        step.model_copy(update={"config": {**step.config, **updates[step.name]}})
        if step.name in updates
        else step
        for step in pipeline.execution_order()
    ]
    return Pipeline(pipeline.name, steps, pipeline.parameters, pipeline.root)


def _settings(step: str, step_type: str, section: Any) -> tuple[dict[str, Any], list[str]]:
    """The validated settings of one section, and the problems found."""
    if not isinstance(section, dict):
        return {}, [f"step {step!r}: the section must be an object of settings"]
    _, allowed = EXECUTION_SETTINGS.get(step_type, (BasePipelineConfig, ()))
    unknown = [key for key in section if key not in allowed]
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none (leave its section empty)"
        return {}, [
            f"step {step!r} ({step_type}) has no setting {key!r}{did_you_mean(key, allowed)}; "
            f"it accepts: {accepted}"
            for key in unknown
        ]
    try:
        validated = _settings_model(step_type).model_validate(section)
    except ValidationError as exc:
        return {}, [
            f"step {step!r} setting {'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
    return validated.model_dump(mode="json", include=set(section)), []


@functools.cache
def _settings_model(step_type: str) -> type[BaseModel]:
    """A model of the step type's settings, with its config's field types and constraints."""
    config_class, names = EXECUTION_SETTINGS[step_type]
    fields: dict[str, Any] = {
        name: (config_class.model_fields[name].annotation, config_class.model_fields[name])
        for name in names
    }
    return create_model(
        f"{step_type}Settings", __config__=ConfigDict(extra="forbid", frozen=True), **fields
    )
