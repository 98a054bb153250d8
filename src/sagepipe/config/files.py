"""Many configs in one JSON or YAML file: :func:`save_configs` and :func:`load_configs`.

The file has these top-level sections::

    shared:       # fields of BasePipelineConfig whose values are the same in every config
      pipeline_name: my-pipeline
      framework_version: "2.1.0"
    parameters:   # pipeline parameters bound in any config field
      TrainInstance: {type: String, default: ml.m5.xlarge}
    configs:      # one entry per step, in order
      train:
        config_type: PyTorchTrainingConfig
        source_dir: code            # relative to this file's directory
        training_instance_type: {Get: Parameters.TrainInstance}
    pipeline:     # optional: the DAG and explicit inputs (read by sagepipe.definitions)
      ...

Fields are written only when they differ from their defaults; the round trip is exact:
``load_configs(save_configs(configs, path)) == configs``.

YAML is read safely: no ``!!python/...`` tags, a key repeated in one mapping is an error,
and anchors and aliases (``&name`` / ``*name``) are bounded: at most 100 aliases in a file,
and at most 100,000 values once every alias is written out. A file beyond either limit (an
"alias bomb": a few KB that expand to billions of values) is refused at once, with an error
naming the file; a recursive alias is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sagepipe.config.base import BASE_DIR_CONTEXT_KEY, BasePipelineConfig
from sagepipe.config.data_loading import DataLoadingConfig
from sagepipe.config.documents import read_document, write_document
from sagepipe.config.endpoint import EndpointConfig
from sagepipe.config.messages import ConfigValidationError, format_validation_error
from sagepipe.config.model import PyTorchModelConfig
from sagepipe.config.packaging import PackagingConfig
from sagepipe.config.payload import PayloadConfig
from sagepipe.config.processing import ProcessingConfig
from sagepipe.config.registration import RegistrationConfig
from sagepipe.config.serialization import (
    ParameterTable,
    dump_field,
    dump_model,
    is_default,
    restore_parameters,
)
from sagepipe.config.tabular_preprocessing import TabularPreprocessingConfig
from sagepipe.config.training import HYPERPARAMETER_TYPES, PyTorchTrainingConfig
from sagepipe.config.transform import BatchTransformConfig
from sagepipe.errors import ConfigFileError, PipelineDefinitionError, did_you_mean
from sagepipe.expressions import Parameter

#: The config classes a file may name in ``config_type``, by name (with the seed aliases).
CONFIG_TYPES: dict[str, type[BasePipelineConfig]] = {
    cls.__name__: cls
    for cls in (
        ProcessingConfig,
        PyTorchTrainingConfig,
        PyTorchModelConfig,
        PackagingConfig,
        PayloadConfig,
        RegistrationConfig,
        BatchTransformConfig,
        EndpointConfig,
        DataLoadingConfig,
        TabularPreprocessingConfig,
    )
}
CONFIG_TYPES["PytorchModelCreationConfig"] = PyTorchModelConfig

SECTIONS: tuple[str, ...] = ("shared", "parameters", "configs", "pipeline")
PARAMETER_TYPES: tuple[str, ...] = ("String", "Integer", "Float", "Boolean")
_SHARED_FIELDS: tuple[str, ...] = tuple(BasePipelineConfig.model_fields)


@dataclass(frozen=True)
class ConfigFile:
    """Everything a config file holds.

    Attributes:
        path: The file, absolute.
        configs: The configs by step name, in file order.
        parameters: The declared pipeline parameters by name.
        pipeline: The raw ``pipeline:`` section, or ``None`` when the file has none.
    """

    path: Path
    configs: dict[str, BasePipelineConfig]
    parameters: dict[str, Parameter]
    pipeline: dict[str, Any] | None


def save_configs(
    configs: Mapping[str, BasePipelineConfig],
    path: str | Path,
    pipeline: Mapping[str, Any] | None = None,
    config_types: Mapping[str, type[BasePipelineConfig]] | None = None,
    parameters: Iterable[Parameter] = (),
) -> Path:
    """Write ``configs`` (by step name) to a JSON or YAML file (chosen by suffix).

    Args:
        configs: Configs by step name; written in this order.
        path: Target file (``.json``, ``.yaml`` or ``.yml``); parent folders are created.
        pipeline: An optional ``pipeline:`` section, written as given.
        config_types: Extra config classes allowed besides :data:`CONFIG_TYPES`.
        parameters: Parameters to declare besides those bound in the configs (for example
            the ones the ``pipeline:`` section uses).

    Returns:
        The path written.
    """
    target = Path(path)
    base_dir = target.resolve().parent
    known = {**CONFIG_TYPES, **(config_types or {})}
    for step, config in configs.items():
        name = type(config).__name__
        if known.get(name) is not type(config):
            raise ConfigFileError(
                f"step {step!r}: {name} is not a config type a file can hold; known: "
                f"{', '.join(sorted(known))} (pass config_types= for your own classes)"
            )
    for step, config in configs.items():
        kind = getattr(config, "hyperparameters_type", None)
        if kind is not None and kind not in HYPERPARAMETER_TYPES:
            raise ConfigFileError(
                f"step {step!r}: hyperparameters of type {kind} cannot be read back from a "
                f"file (a file can name {', '.join(HYPERPARAMETER_TYPES)}); pass them as a "
                "ModelHyperparameters or as a free-form mapping, or build this config in Python"
            )
    table = ParameterTable()
    for parameter in parameters:
        table.add(parameter)
    shared = _shared_fields(list(configs.values()))
    document: dict[str, Any] = {}
    if configs:
        first = next(iter(configs.values()))
        shared_section = {
            name: dump_field(first, name, base_dir, table)
            for name in shared
            if not all(is_default(config, name) for config in configs.values())
        }
        if shared_section:
            document["shared"] = shared_section
    steps = {
        step: {
            "config_type": type(config).__name__,
            **dump_model(config, base_dir, table, skip=frozenset(shared)),
        }
        for step, config in configs.items()
    }
    if table.by_name:
        document["parameters"] = table.section()
    document["configs"] = steps
    if pipeline is not None:
        document["pipeline"] = dict(pipeline)
    write_document(target, document)
    return target


def load_configs(
    path: str | Path, config_types: Mapping[str, type[BasePipelineConfig]] | None = None
) -> dict[str, BasePipelineConfig]:
    """Read the configs of a file written by :func:`save_configs` (or by hand).

    Raises:
        ConfigFileError: The file is missing, malformed, or names an unknown config type.
        ConfigValidationError: A config is invalid; the message names the file, the step
            and the field.
    """
    return read_config_file(path, config_types).configs


def read_config_file(
    path: str | Path, config_types: Mapping[str, type[BasePipelineConfig]] | None = None
) -> ConfigFile:
    """Read a config file: its configs, parameters and raw ``pipeline:`` section."""
    file = Path(path).resolve()
    document = read_document(file)
    if not isinstance(document, dict):
        raise ConfigFileError(
            f"{file}: the top level must be a mapping with a configs: section, got "
            f"{type(document).__name__}"
        )
    for key in document:
        if key not in SECTIONS:
            raise ConfigFileError(
                f"{file}: unknown top-level section {key!r}{did_you_mean(str(key), SECTIONS)}; "
                f"sections are: {', '.join(SECTIONS)}"
            )
    parameters = _read_parameters(file, document.get("parameters"))
    shared = _section(file, document, "shared")
    for key in shared:
        if key not in _SHARED_FIELDS:
            problem = f"unknown shared field{did_you_mean(str(key), _SHARED_FIELDS)}"
            raise ConfigValidationError("shared", [(str(key), problem)], file)
    if "configs" not in document:
        raise ConfigFileError(f"{file}: the configs: section is missing; add one entry per step")
    configs = {
        step: _read_config(file, step, body, shared, parameters, config_types)
        for step, body in _section(file, document, "configs").items()
    }
    pipeline = document.get("pipeline")
    if pipeline is not None and not isinstance(pipeline, dict):
        raise ConfigFileError(f"{file}: the pipeline: section must be a mapping")
    return ConfigFile(file, configs, parameters, pipeline)


def _shared_fields(configs: list[BasePipelineConfig]) -> list[str]:
    """Base fields whose value (and parameter binding) is the same in every config."""
    if not configs:
        return []
    first = configs[0]

    def signature(config: BasePipelineConfig, name: str) -> tuple[Any, Any]:
        return config.parameter_bindings.get(name), getattr(config, name)

    return [
        name
        for name in _SHARED_FIELDS
        if all(signature(config, name) == signature(first, name) for config in configs)
    ]


def _section(file: Path, document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigFileError(
            f"{file}: the {name}: section must be a mapping, got {type(value).__name__}"
        )
    return value


def _read_parameters(file: Path, raw: Any) -> dict[str, Parameter]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigFileError(f"{file}: parameters: must map names to {{type, default}}")
    parameters: dict[str, Parameter] = {}
    for name, entry in raw.items():
        where = f"{file}: parameters.{name}"
        if not isinstance(entry, dict) or set(entry) != {"type", "default"}:
            raise ConfigFileError(
                f"{where}: write {{type: <{'|'.join(PARAMETER_TYPES)}>, default: <value>}}"
            )
        kind = entry["type"]
        if kind not in PARAMETER_TYPES:
            raise ConfigFileError(
                f"{where}: type {kind!r} is unknown{did_you_mean(str(kind), PARAMETER_TYPES)}; "
                f"use one of {', '.join(PARAMETER_TYPES)}"
            )
        try:
            parameters[str(name)] = Parameter(str(name), kind, entry["default"])
        except PipelineDefinitionError as exc:
            raise ConfigFileError(f"{where}: {exc}") from None
    return parameters


def _read_config(
    file: Path,
    step: Any,
    body: Any,
    shared: dict[str, Any],
    parameters: dict[str, Parameter],
    config_types: Mapping[str, type[BasePipelineConfig]] | None,
) -> BasePipelineConfig:
    if not isinstance(step, str) or not step:
        raise ConfigFileError(f"{file}: step names under configs: must be strings, got {step!r}")
    if not isinstance(body, dict):
        raise ConfigFileError(
            f"{file}, step {step!r}: the entry must be a mapping with a config_type"
        )
    known = {**CONFIG_TYPES, **(config_types or {})}
    type_name = body.get("config_type")
    if type_name is None:
        raise ConfigFileError(
            f"{file}, step {step!r}: config_type is missing; use one of {', '.join(known)}"
        )
    cls = known.get(str(type_name))
    if cls is None:
        raise ConfigFileError(
            f"{file}, step {step!r}: config_type {type_name!r} is unknown"
            f"{did_you_mean(str(type_name), known)}; known: {', '.join(known)}"
        )
    data = {**shared, **{k: v for k, v in body.items() if k != "config_type"}}
    data = {
        str(key): restore_parameters(value, parameters, str(key), cls.__name__, file, step)
        for key, value in data.items()
    }
    try:
        return cls.model_validate(data, context={BASE_DIR_CONTEXT_KEY: str(file.parent)})
    except ValidationError as exc:
        raise format_validation_error(exc, cls).located(file, step) from None
    except ConfigValidationError as exc:
        raise exc.located(file, step) from None
