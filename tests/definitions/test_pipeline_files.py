"""A whole pipeline in one config file: DAG, explicit inputs, parameters, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sagepipe.config.files import load_configs, read_config_file, save_configs
from sagepipe.definitions import PipelineFileError, pipeline_from_config_file
from sagepipe.errors import (
    ConfigError,
    CycleError,
    DependencyResolutionError,
    PipelineLoadError,
    UnknownNodeError,
)
from sagepipe.pipeline import OutputOf, PipelineBuilderTemplate, PipelineDAG
from sagepipe.steps import DEFAULT_STEP_BUILDERS


def test_tiny_pipeline_file(resources: Path) -> None:
    pipeline = pipeline_from_config_file(resources / "pipelines" / "tiny.yaml")
    assert pipeline.name == "tiny-pipeline"
    assert [s.name for s in pipeline.execution_order()] == [
        "load", "preprocess", "train", "model", "transform"
    ]  # fmt: skip
    assert sorted(p.name for p in pipeline.parameters) == ["InputData", "TrainInstance"]
    load = pipeline.step("load")
    assert load.inputs["source"].value == {"Get": "Parameters.InputData"}
    transform = pipeline.step("transform")
    assert transform.inputs["input_data"].value == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
    assert transform.inputs["input_data"].source == "explicit"
    assert transform.inputs["model_name"].value == {"Get": "Steps.model.ModelName"}
    assert pipeline.step("train").config["training_instance_type"] == {
        "Get": "Parameters.TrainInstance"
    }
    assert pipeline.step("model").config_type == "PyTorchModelConfig"


def test_the_file_gives_the_same_ir_as_the_python_api(resources: Path) -> None:
    file = resources / "pipelines" / "tiny.yaml"
    configs = load_configs(file)
    edges = yaml.safe_load(file.read_text())["pipeline"]["dag"]["edges"]
    from sagepipe.expressions import ParameterString

    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=list(configs), edges=[tuple(e) for e in edges]),
        config_map=configs,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "load": {"source": ParameterString("InputData", "s3://bucket/raw/")},
            "transform": {"input_data": OutputOf("preprocess", "processed_data")},
        },
        root=file.parent,
    )
    from_python = template.generate_pipeline("tiny-pipeline")
    assert pipeline_from_config_file(file).to_json() == from_python.to_json()


def test_saved_configs_with_a_pipeline_section_load_as_a_pipeline(resources: Path) -> None:
    original = resources / "pipelines" / "tiny.yaml"
    file = read_config_file(original)
    copy = save_configs(
        file.configs,
        original.parent / "copy.json",
        pipeline=file.pipeline,
        parameters=file.parameters.values(),
    )
    assert read_config_file(copy).parameters == file.parameters
    assert (
        pipeline_from_config_file(copy).to_json() == pipeline_from_config_file(original).to_json()
    )


def test_name_defaults_to_the_shared_pipeline_name(resources: Path) -> None:
    file = resources / "pipelines" / "tiny.yaml"
    text = file.read_text().replace("  name: tiny-pipeline\n", "")
    file.write_text(text)
    assert pipeline_from_config_file(file).name == "tiny"


def edit(resources: Path, old: str, new: str) -> Path:
    file = resources / "pipelines" / "tiny.yaml"
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new))
    return file


def test_cycle_lists_the_cycle(resources: Path) -> None:
    file = edit(
        resources,
        "      - [model, transform]\n",
        "      - [model, transform]\n      - [model, load]\n",
    )
    with pytest.raises(PipelineFileError) as caught:
        pipeline_from_config_file(file)
    assert isinstance(caught.value.cause, CycleError)
    message = str(caught.value)
    assert message.startswith(f"{file.resolve()}: ")
    assert "load -> preprocess -> train -> model -> load" in message


def test_unknown_node_in_an_edge_is_an_error_not_a_phantom(resources: Path) -> None:
    file = edit(resources, "[train, model]", "[train, modle]")
    with pytest.raises(PipelineFileError) as caught:
        pipeline_from_config_file(file)
    assert isinstance(caught.value.cause, UnknownNodeError)
    message = str(caught.value)
    assert "pipeline.dag.edges[2] [train, modle]" in message
    assert "unknown node 'modle' (did you mean 'model'?)" in message


def test_resolution_errors_name_the_file(resources: Path) -> None:
    file = edit(resources, "      - [preprocess, train]\n", "")
    with pytest.raises(PipelineFileError) as caught:
        pipeline_from_config_file(file)
    assert isinstance(caught.value.cause, DependencyResolutionError)
    assert str(caught.value).startswith(f"{file.resolve()}: step 'train' needs input 'input_path'")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{Output: preprocess.processed_data}", "{Output: preprocess}", "must look like"),
        ("{Output: preprocess.processed_data}", "{Output: [a]}", "needs '<step>.<output>'"),
        (
            "{Output: preprocess.processed_data}",
            "{Output: preprocess.nothing}",
            "no output 'nothing'",
        ),
        ("{Get: Parameters.InputData}", "{Get: Parameters.InputDta}", "did you mean 'InputData'"),
        ("    load:\n      source", "    laod:\n      source", "inputs names node 'laod'"),
        (
            "      source: {Get",
            "      sorce: {Get",
            "has no input 'sorce' (did you mean 'source'?)",
        ),
    ],
)
def test_input_errors(resources: Path, old: str, new: str, message: str) -> None:
    file = edit(resources, old, new)
    with pytest.raises(PipelineLoadError) as caught:
        pipeline_from_config_file(file)
    assert str(caught.value).startswith(f"{file.resolve()}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  dag:\n", "  dags:\n", "pipeline: dags: unknown field (did you mean 'dag'?)"),
        (
            "    edges:\n",
            "    edge:\n",
            "pipeline: dag.edge: unknown field (did you mean 'edges'?)",
        ),
        ("      - [load, preprocess]\n", "      - [load]\n", "pipeline: dag.edges.0"),
    ],
)
def test_section_structure_errors(resources: Path, old: str, new: str, message: str) -> None:
    file = edit(resources, old, new)
    with pytest.raises(ConfigError) as caught:
        pipeline_from_config_file(file)
    assert str(caught.value).startswith(f"{file.resolve()}: ")
    assert message in str(caught.value)


def test_configs_naming_different_pipelines_need_a_name(resources: Path) -> None:
    file = edit(resources, "  name: tiny-pipeline\n", "")
    file.write_text(
        file.read_text().replace(
            "config_type: BatchTransformConfig",
            "config_type: BatchTransformConfig\n    pipeline_name: other",
        )
    )
    with pytest.raises(PipelineLoadError, match="do not share one pipeline_name \\(other, tiny\\)"):
        pipeline_from_config_file(file)
