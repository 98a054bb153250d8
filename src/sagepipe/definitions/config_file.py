"""A whole pipeline in one config file: the configs plus a ``pipeline:`` section.

::

    pipeline:
      name: my-pipeline             # default: the configs' shared pipeline_name
      dag:
        edges: [[preprocess, train], [train, model]]   # nodes: the configs, in file order
      inputs:                       # explicit inputs; the others are wired by the resolver
        preprocess:
          raw_data: {Get: Parameters.InputData}        # or a literal URI, {Std:Join: ...}
        transform:
          input_data: {Output: preprocess.processed_data}   # another node's output
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagepipe.config.base import BasePipelineConfig
from sagepipe.config.files import ConfigFile, read_config_file
from sagepipe.config.messages import ConfigValidationError, format_validation_error
from sagepipe.definitions.errors import PipelineFileError
from sagepipe.errors import PipelineDefinitionError, PipelineLoadError
from sagepipe.expressions import Parameter, from_json
from sagepipe.pipeline import OutputOf, Pipeline, PipelineBuilderTemplate, PipelineDAG
from sagepipe.steps import DEFAULT_STEP_BUILDERS


class DagSection(BaseModel):
    """``pipeline.dag``: the edges between the configs' step names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    edges: list[tuple[str, str]] = Field(default_factory=list)


class PipelineSection(BaseModel):
    """The ``pipeline:`` section of a config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    dag: DagSection = Field(default_factory=DagSection)
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)


def pipeline_from_config_file(path: str | Path) -> Pipeline:
    """Build and validate the pipeline a config file describes.

    Local code paths are relative to the file's directory, which is also the pipeline root.

    Raises:
        PipelineLoadError: The file has no ``pipeline:`` section.
        PipelineFileError: The section describes an invalid pipeline (a cycle, an unknown
            node, an input that cannot be wired...); the message starts with the file.
        ConfigError: The file or one of its configs is invalid.
    """
    config_file = read_config_file(path)
    file = config_file.path
    if config_file.pipeline is None:
        raise PipelineLoadError(
            f"{file} holds configs but no pipeline: section; add one with the DAG "
            "(pipeline: {dag: {edges: [[a, b]]}}), see `sagepipe config init`"
        )
    section = _parse_section(file, config_file.pipeline)
    dag = _build_dag(config_file, section)
    inputs = {
        node: {
            name: _input_value(file, node, name, value, config_file.parameters)
            for name, value in node_inputs.items()
        }
        for node, node_inputs in section.inputs.items()
    }
    name = section.name or _shared_pipeline_name(file, config_file.configs)
    try:
        template = PipelineBuilderTemplate(
            dag=dag,
            config_map=config_file.configs,
            step_builder_map=DEFAULT_STEP_BUILDERS,
            inputs=inputs,
            parameters=config_file.parameters.values(),
            root=file.parent,
        )
        return template.generate_pipeline(name)
    except PipelineDefinitionError as exc:
        raise PipelineFileError(file, "", exc) from exc


def _parse_section(file: Path, raw: dict[str, Any]) -> PipelineSection:
    try:
        return PipelineSection.model_validate(raw)
    except ValidationError as exc:
        problems = format_validation_error(exc, PipelineSection).problems
        raise ConfigValidationError("pipeline", problems, file) from None


def _build_dag(config_file: ConfigFile, section: PipelineSection) -> PipelineDAG:
    dag = PipelineDAG()
    for node in config_file.configs:
        dag.add_node(node)
    for index, (src, dst) in enumerate(section.dag.edges):
        try:
            dag.add_edge(src, dst)
        except PipelineDefinitionError as exc:
            raise PipelineFileError(
                config_file.path, f"pipeline.dag.edges[{index}] [{src}, {dst}]", exc
            ) from exc
    return dag


def _input_value(
    file: Path, node: str, name: str, value: Any, parameters: dict[str, Parameter]
) -> Any:
    try:
        if isinstance(value, dict) and set(value) == {"Output"}:
            target = value["Output"]
            if not isinstance(target, str):
                raise PipelineDefinitionError(
                    f"{{Output: ...}} needs '<step>.<output>', got {target!r}"
                )
            return OutputOf.parse(target)
        return from_json(value, parameters)
    except PipelineDefinitionError as exc:
        raise PipelineFileError(file, f"pipeline.inputs.{node}.{name}", exc) from exc


def _shared_pipeline_name(file: Path, configs: dict[str, BasePipelineConfig]) -> str:
    names = sorted({config.pipeline_name for config in configs.values()})
    if len(names) == 1:
        return names[0]
    found = ", ".join(names) if names else "no configs"
    raise PipelineLoadError(
        f"{file}: pipeline.name is not set and the configs do not share one pipeline_name "
        f"({found}); set pipeline: {{name: <name>}} or a shared pipeline_name"
    )
