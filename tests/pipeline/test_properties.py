"""Property references mirror SageMaker's response shapes; navigation errors say what exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    EndpointConfig,
    ProcessingConfig,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
)
from sagepipe.errors import PipelineDefinitionError, PropertyPathError
from sagepipe.pipeline import Step
from sagepipe.pipeline.properties import TRAINING, resolve_path
from sagepipe.steps import (
    BatchTransformStepBuilder,
    EndpointStepBuilder,
    ProcessingStepBuilder,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    RegistrationStepBuilder,
)

CODE = str(Path(__file__).parent.parent / "resources" / "code")


def training() -> Step:
    config = PyTorchTrainingConfig(source_dir=CODE, framework_version="2.1.0", py_version="py310")
    return PyTorchTrainingStepBuilder(config).create_step(name="train", input_path="s3://b/d/")


def processing() -> Step:
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=CODE,
        outputs=[ProcessingOutput(name="train"), ProcessingOutput(name="test")],
    )
    return ProcessingStepBuilder(config).create_step(name="prep")


def model() -> Step:
    config = PyTorchModelConfig(source_dir=CODE, framework_version="2.1.0", py_version="py310")
    return PyTorchModelStepBuilder(config).create_step(name="model", model_data="s3://b/m.tgz")


def test_sagemaker_property_paths() -> None:
    assert training().properties.ModelArtifacts.S3ModelArtifacts.to_json() == {
        "Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"
    }
    assert model().properties.ModelName.to_json() == {"Get": "Steps.model.ModelName"}
    outputs = processing().properties.ProcessingOutputConfig.Outputs
    assert outputs["train"].S3Output.S3Uri.to_json() == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    transform = BatchTransformStepBuilder(BatchTransformConfig()).create_step(
        name="transform", model_name="m", input_data="s3://b/in/"
    )
    assert transform.properties.TransformOutput.S3OutputPath.to_json() == {
        "Get": "Steps.transform.TransformOutput.S3OutputPath"
    }
    registration = RegistrationStepBuilder(
        RegistrationConfig(model_package_group_name="g")
    ).create_step(name="register", packaged_model="s3://b/p.tgz")
    assert registration.properties.ModelPackageArn.to_json() == {
        "Get": "Steps.register.ModelPackageArn"
    }
    endpoint = EndpointStepBuilder(EndpointConfig(endpoint_name="ep")).create_step(
        name="ep", model_name="m"
    )
    assert endpoint.properties.EndpointName.to_json() == {"Get": "Steps.ep.EndpointName"}


def test_a_reference_names_its_step() -> None:
    ref = training().properties.ModelArtifacts.S3ModelArtifacts
    assert ref.step_names() == frozenset({"train"})


def test_unknown_property_lists_what_exists_and_suggests() -> None:
    with pytest.raises(PropertyPathError) as caught:
        _ = training().properties.ModelArtifact
    message = str(caught.value)
    assert "Steps.train has no property 'ModelArtifact' (did you mean 'ModelArtifacts'?)" in message
    assert "it has: FinalMetricDataList, HyperParameters, ModelArtifacts" in message


def test_unknown_nested_property() -> None:
    with pytest.raises(
        PropertyPathError, match=r"Steps\.train\.ModelArtifacts has no property 'S3Uri'"
    ):
        _ = training().properties.ModelArtifacts.S3Uri


def test_attribute_of_a_value_is_an_error() -> None:
    with pytest.raises(PropertyPathError, match="is a value, it has no attribute 'Name'"):
        _ = model().properties.ModelName.Name


def test_attribute_of_a_list_says_to_index_it() -> None:
    with pytest.raises(
        PropertyPathError, match=r"is a list: index it with \[name\] or \[position\]"
    ):
        _ = processing().properties.ProcessingOutputConfig.Outputs.train


def test_unknown_output_name_lists_the_declared_outputs() -> None:
    with pytest.raises(PropertyPathError) as caught:
        processing().properties.ProcessingOutputConfig.Outputs["tests"]
    message = str(caught.value)
    assert "has no entry 'tests' (did you mean 'test'?)" in message
    assert "the step declares: train, test" in message


def test_indexing_a_non_list_is_an_error() -> None:
    with pytest.raises(PropertyPathError, match="is not a list"):
        training().properties.ModelArtifacts["x"]


def test_output_ref_by_logical_name_and_alias() -> None:
    step = training()
    assert step.output_ref("model_artifacts") == step.output_ref("model_data")
    with pytest.raises(PipelineDefinitionError) as caught:
        step.output_ref("model_artifact")
    assert "has no output 'model_artifact' (did you mean 'model_artifacts'?)" in str(caught.value)


def test_resolve_path_parses_dotted_and_indexed_paths() -> None:
    ref = resolve_path("train", TRAINING, "ModelArtifacts.S3ModelArtifacts")
    assert ref.path == "ModelArtifacts.S3ModelArtifacts"
    shape = processing().property_shape()
    ref = resolve_path("prep", shape, "ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri")
    assert ref.to_json() == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    }
    with pytest.raises(PropertyPathError):
        resolve_path("prep", shape, "ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri")


def test_outputs_indexed_by_position_as_the_sdk_properties_list() -> None:
    # Seed 002: ``ProcessingOutputConfig.Outputs[0].S3Output.S3Uri``.
    outputs = processing().properties.ProcessingOutputConfig.Outputs
    assert outputs[0].S3Output.S3Uri.to_json() == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"
    }
    assert outputs[1].S3Output.S3Uri.to_json() == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri"
    }
    ref = resolve_path("prep", processing().property_shape(), "ProcessingOutputConfig.Outputs[1]")
    assert ref.to_json() == {"Get": "Steps.prep.ProcessingOutputConfig.Outputs[1]"}


def test_position_out_of_range_names_the_range_and_the_outputs() -> None:
    outputs = processing().properties.ProcessingOutputConfig.Outputs
    with pytest.raises(PropertyPathError) as caught:
        outputs[2]
    message = str(caught.value)
    assert "has 2 item(s), so index 2 is out of range; use 0 to 1" in message
    assert "the step declares: train, test" in message
    with pytest.raises(PropertyPathError, match="index -1 is out of range"):
        outputs[-1]


def test_a_list_is_not_indexed_by_a_bool() -> None:
    with pytest.raises(PropertyPathError, match="not by True"):
        processing().properties.ProcessingOutputConfig.Outputs[True]
