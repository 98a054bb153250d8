"""Pipeline IR: validation, edges with reasons, deterministic JSON and its exact inverse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    PackagingConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
)
from sagepipe.errors import PipelineDefinitionError, PropertyPathError
from sagepipe.expressions import Join, ParameterInteger, ParameterString
from sagepipe.pipeline import InputBinding, Pipeline, PipelineBuilderTemplate, PipelineDAG, Step
from sagepipe.pipeline.root import use_root
from sagepipe.steps import (
    DEFAULT_STEP_BUILDERS,
    ProcessingStepBuilder,
    PyTorchTrainingStepBuilder,
)

RESOURCES = Path(__file__).parent.parent / "resources"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(RESOURCES / "code", root / "code")
    return root


def build(project: Path) -> Pipeline:
    code = str(project / "code")
    instance = ParameterString("TrainInstance", "ml.m5.xlarge")
    dag = PipelineDAG(
        nodes=["preprocess", "train", "model", "packaging", "transform"],
        edges=[
            ("preprocess", "train"),
            ("train", "model"),
            ("model", "packaging"),
            ("model", "transform"),
            ("preprocess", "transform"),
        ],
    )
    config_map = {
        "preprocess": ProcessingConfig(
            processing_entry_point="preprocess.py",
            source_dir=code,
            inputs=[ProcessingInput(name="raw")],
            outputs=[ProcessingOutput(name="processed_data"), ProcessingOutput(name="test_data")],
        ),
        "train": PyTorchTrainingConfig(
            source_dir=code,
            framework_version="2.1.0",
            py_version="py310",
            training_instance_type=instance,
        ),
        "model": PyTorchModelConfig(source_dir=code, framework_version="2.1.0", py_version="py310"),
        "packaging": PackagingConfig(source_dir=code, dependencies=[str(project / "code/load.py")]),
        "transform": BatchTransformConfig(),
    }
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "preprocess": {"raw": Join(on="/", values=["s3://b", ParameterString("Day", "d1")])},
            "transform": {"input_data": _output("preprocess", "test_data")},
        },
        parameters=[ParameterInteger("Unused", 3)],
        root=project,
    )
    return template.generate_pipeline("ir-test")


def _output(step: str, output: str) -> Any:
    from sagepipe.pipeline import OutputOf

    return OutputOf(step, output)


def test_building_twice_gives_byte_identical_json(project: Path) -> None:
    assert build(project).to_json() == build(project).to_json()


def test_json_is_sorted_and_in_execution_order(project: Path) -> None:
    text = build(project).to_json()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert [s["name"] for s in data["steps"]] == [
        "preprocess", "train", "model", "packaging", "transform"
    ]  # fmt: skip
    assert [p["Name"] for p in data["parameters"]] == ["Day", "TrainInstance", "Unused"]


def test_from_json_round_trips_exactly(project: Path) -> None:
    pipeline = build(project)
    text = pipeline.to_json()
    again = Pipeline.from_json(text, root=project)
    assert again.to_json() == text
    assert [s.model_dump() for s in again.steps] == [
        s.model_dump() for s in pipeline.execution_order()
    ]
    assert again.parameters == sorted(pipeline.parameters, key=lambda p: p.name)
    again.validate()


def test_from_json_anchors_code_at_the_given_root(project: Path, tmp_path: Path) -> None:
    text = build(project).to_json()
    elsewhere = tmp_path / "elsewhere"
    again = Pipeline.from_json(text, root=elsewhere)
    code = again.step("train").code
    assert code is not None
    assert code.source_dir == str((elsewhere / "code").resolve())


def test_json_has_no_absolute_path_of_this_machine(project: Path) -> None:
    text = build(project).to_json()
    assert str(project) not in text
    assert str(project.parent) not in text
    assert str(Path.home()) not in text

    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    absolute = [s for s in strings(json.loads(text)) if s.startswith("/") and s != "/"]
    assert all(s.startswith("/opt/ml/") for s in absolute), absolute
    train = next(s for s in json.loads(text)["steps"] if s["name"] == "train")
    assert train["code"] == {"source_dir": "code", "entry_point": "train.py", "dependencies": []}


def test_ir_version_is_checked(project: Path) -> None:
    data = json.loads(build(project).to_json())
    data["ir_version"] = 99
    with pytest.raises(PipelineDefinitionError, match="IR version 99 is not supported"):
        Pipeline.from_json(json.dumps(data))


def test_edges_carry_their_reason(project: Path) -> None:
    edges = {(e.upstream, e.downstream): e.reason for e in build(project).edges()}
    assert edges[("preprocess", "train")] == (
        "input_path: preprocess.processed_data (name 'processed_data', type processing_output)"
    )
    assert edges[("preprocess", "transform")] == "input_data: given explicitly"
    assert edges[("model", "transform")].startswith("model_name: model.model_name")


def test_parameters_used_in_configs_and_inputs_are_declared(project: Path) -> None:
    pipeline = build(project)
    assert {p.name for p in pipeline.parameters} == {"Day", "TrainInstance", "Unused"}
    train = json.loads(pipeline.to_json())["steps"][1]
    assert train["config"]["training_instance_type"] == {"Get": "Parameters.TrainInstance"}


def test_explicit_dependency_without_input_has_its_own_reason(project: Path) -> None:
    code = str(project / "code")
    with use_root(project):
        first = ProcessingStepBuilder(
            ProcessingConfig(processing_entry_point="load.py", source_dir=code)
        ).create_step(name="first")
        second = ProcessingStepBuilder(
            ProcessingConfig(processing_entry_point="load.py", source_dir=code)
        ).create_step(dependencies=[first], name="second")
        pipeline = Pipeline("p", steps=[first, second])
    assert [e.reason for e in pipeline.edges()] == ["explicit dependency (no input wired)"]


def processing_step(name: str, project: Path, dependencies: list[Step] | None = None) -> Step:
    config = ProcessingConfig(
        processing_entry_point="load.py",
        source_dir=str(project / "code"),
        outputs=[ProcessingOutput(name="processed_data")],
    )
    return ProcessingStepBuilder(config).create_step(dependencies=dependencies or [], name=name)


def test_validation_errors(project: Path) -> None:
    with pytest.raises(PipelineDefinitionError, match="pipeline 'p' has no steps"):
        Pipeline("p").validate()
    with pytest.raises(PipelineDefinitionError, match="pipeline name 'bad name' is invalid"):
        Pipeline("bad name")
    step = processing_step("a", project)
    with pytest.raises(PipelineDefinitionError, match="already has a step named 'a'"):
        Pipeline("p", steps=[step, step])
    later = processing_step("b", project, dependencies=[step])
    with pytest.raises(PipelineDefinitionError, match="depends on 'a', which is not in pipeline"):
        Pipeline("p", steps=[later]).validate()


def test_a_property_reference_must_be_a_dependency(project: Path) -> None:
    upstream = processing_step("prep", project)
    config = PyTorchTrainingConfig(
        source_dir=str(project / "code"), framework_version="2.1.0", py_version="py310"
    )
    train = PyTorchTrainingStepBuilder(config).create_step(name="train", input_path="s3://b/")

    def reading(value: Any, depends_on: tuple[str, ...] = ()) -> Step:
        binding = InputBinding(value=value, source="explicit", reason="given explicitly")
        return train.model_copy(
            update={"inputs": {"input_path": binding}, "depends_on": depends_on}
        )

    ref = upstream.output_ref("processed_data").to_json()
    with pytest.raises(
        PipelineDefinitionError, match=r"reads Steps\.prep but does not depend on it"
    ):
        Pipeline("p", steps=[upstream, reading(ref)]).validate()
    with pytest.raises(PipelineDefinitionError, match=r"reads Steps\.other, which is not in the"):
        Pipeline("p", steps=[upstream, reading({"Get": "Steps.other.X"})]).validate()
    wrong = {"Get": "Steps.prep.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri"}
    with pytest.raises(PropertyPathError, match="has no entry 'nope'"):
        Pipeline("p", steps=[upstream, reading(wrong, ("prep",))]).validate()
    Pipeline("p", steps=[upstream, reading(ref, ("prep",))]).validate()


def test_conflicting_parameter_definitions(project: Path) -> None:
    pipeline = Pipeline("p", parameters=[ParameterString("A", "x")])
    with pytest.raises(PipelineDefinitionError, match="'A' is declared twice"):
        pipeline.add_parameter(ParameterString("A", "y"))


def test_step_lookup_suggests(project: Path) -> None:
    pipeline = build(project)
    with pytest.raises(
        PipelineDefinitionError, match="no step 'trian' \\(did you mean 'train'\\?\\)"
    ):
        pipeline.step("trian")
