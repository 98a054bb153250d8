"""One config <-> the plain values of its section in a config file.

Writing keeps only the fields that differ from their defaults, writes parameter-bound fields as
``{"Get": "Parameters.X"}`` and local paths relative to the file's directory. Reading turns
``{"Get": "Parameters.X"}`` back into the declared :class:`~sagepipe.expressions.Parameter`;
relative paths are resolved by the configs' own validators (``resolve_local_dir``) against the
``base_dir`` validation context.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagepipe.config.base import ConfigModel, is_s3_uri
from sagepipe.config.messages import ConfigValidationError
from sagepipe.errors import ConfigFileError, did_you_mean
from sagepipe.expressions import JsonValue, Parameter, parameters_in, to_json

# Fields that hold local paths (a string or a list of strings), in any config.
PATH_FIELDS: frozenset[str] = frozenset({"source_dir", "dependencies", "path"})

_PARAMETER_PREFIX = "Parameters."


class ParameterTable:
    """The parameters bound anywhere in the configs being written, by name."""

    def __init__(self) -> None:
        self.by_name: dict[str, Parameter] = {}

    def add(self, parameter: Parameter) -> None:
        known = self.by_name.get(parameter.name)
        if known is not None and known != parameter:
            raise ConfigFileError(
                f"parameter {parameter.name!r} is bound with two different definitions "
                f"({known} and {parameter}); use one Parameter object for both fields"
            )
        self.by_name[parameter.name] = parameter

    def section(self) -> dict[str, JsonValue]:
        """The ``parameters:`` section: ``{Name: {type: ..., default: ...}}``."""
        return {
            name: {"type": p.parameter_type, "default": p.default}
            for name, p in self.by_name.items()
        }


def is_default(model: ConfigModel, name: str) -> bool:
    """Whether a field holds its class default and is not bound to a parameter."""
    if name in model.parameter_bindings:
        return False
    field = type(model).model_fields[name]
    if field.is_required():
        return False
    return bool(getattr(model, name) == field.get_default(call_default_factory=True))


def dump_field(model: ConfigModel, name: str, base_dir: Path, table: ParameterTable) -> Any:
    """The file form of one field of ``model``."""
    binding = model.parameter_bindings.get(name)
    if binding is not None:
        table.add(binding)
        return binding.to_json()
    value = getattr(model, name)
    if isinstance(value, ConfigModel):
        return dump_model(value, base_dir, table)
    if isinstance(value, list) and any(isinstance(item, ConfigModel) for item in value):
        return [dump_model(item, base_dir, table) for item in value]
    if isinstance(value, dict) and parameters_in(value):
        for parameter in parameters_in(value):  # a free-form mapping's parameter values
            table.add(parameter)
        return to_json(value)
    dumped = model.model_dump(mode="json", include={name})[name]
    if name in PATH_FIELDS or name in type(model).local_path_fields:
        return _relative(dumped, base_dir)
    return dumped


def dump_model(
    model: ConfigModel, base_dir: Path, table: ParameterTable, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The non-default fields of ``model`` (except ``skip``), in field order; for a model that
    passes only its set fields on (:attr:`ConfigModel.dump_set_fields`), the set ones."""
    return {
        name: dump_field(model, name, base_dir, table)
        for name in type(model).model_fields
        if name not in skip
        and (
            name in model.model_fields_set if model.dump_set_fields else not is_default(model, name)
        )
    }


def _relative(value: Any, base_dir: Path) -> Any:
    if isinstance(value, list):
        return [_relative(item, base_dir) for item in value]
    if isinstance(value, str) and value and not is_s3_uri(value) and "://" not in value:
        return Path(os.path.relpath(value, base_dir)).as_posix()
    return value


def restore_parameters(
    value: Any,
    parameters: Mapping[str, Parameter],
    field: str,
    config_type: str,
    file: Path,
    step: str,
) -> Any:
    """Replace every ``{"Get": "Parameters.X"}`` in ``value`` by the declared parameter."""

    def fail(message: str) -> ConfigValidationError:
        return ConfigValidationError(config_type, [(field, message)], file, step)

    if isinstance(value, dict):
        if set(value) == {"Get"}:
            ref = value["Get"]
            if not isinstance(ref, str) or not ref.startswith(_PARAMETER_PREFIX):
                raise fail(
                    f"{{Get: {ref!r}}} is not allowed here: config fields can only read "
                    "pipeline parameters ({Get: Parameters.<name>}); wire step outputs in the "
                    "pipeline section's inputs"
                )
            name = ref.removeprefix(_PARAMETER_PREFIX)
            if name not in parameters:
                raise fail(
                    f"parameter {name!r} is not declared{did_you_mean(name, parameters)}; "
                    f"declare it under parameters: with a type and a default"
                )
            return parameters[name]
        return {
            key: restore_parameters(item, parameters, f"{field}.{key}", config_type, file, step)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            restore_parameters(item, parameters, f"{field}.{i}", config_type, file, step)
            for i, item in enumerate(value)
        ]
    return value
