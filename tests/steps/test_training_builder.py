"""The training step's inputs are its config's channels: specification, contract, wiring by
exact name (never by similarity), configured sources, explicit inputs and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    ProcessingConfig,
    ProcessingOutput,
    PyTorchTrainingConfig,
    TrainingChannel,
)
from sagepipe.errors import DependencyResolutionError
from sagepipe.expressions import ParameterString
from sagepipe.pipeline import Step
from sagepipe.steps import ProcessingStepBuilder, PyTorchTrainingStepBuilder

CODE = Path(__file__).parent.parent / "resources" / "code"
VERSIONS = {"framework_version": "2.1.0", "py_version": "py310"}


def prep(*outputs: str) -> Step:
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=str(CODE),
        outputs=[ProcessingOutput(name=name) for name in outputs],
        **VERSIONS,
    )
    return ProcessingStepBuilder(config).create_step(name="prep")


def builder(*channels: TrainingChannel) -> PyTorchTrainingStepBuilder:
    config = PyTorchTrainingConfig(source_dir=str(CODE), channels=list(channels), **VERSIONS)
    return PyTorchTrainingStepBuilder(config)


def test_each_channel_is_an_input_and_a_container_path() -> None:
    built = builder(TrainingChannel(name="train"), TrainingChannel(name="validation"))
    spec = built.specification()
    assert [d.logical_name for d in spec.dependencies] == ["train", "validation"]
    assert all(d.aliases == () for d in spec.dependencies)
    assert [o.logical_name for o in spec.outputs] == ["model_artifacts", "output_path", "metrics"]
    contract = built.contract()
    assert contract.input_paths == {
        "train": "/opt/ml/input/data/train",
        "validation": "/opt/ml/input/data/validation",
    }
    assert {"SM_CHANNELS", "SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION"} <= set(
        contract.required_env_vars
    )
    assert "SM_CHANNEL_DATA" not in contract.required_env_vars


def test_channels_are_wired_from_outputs_of_exactly_their_name() -> None:
    source = prep("train", "validation", "processed_data")
    step = builder(TrainingChannel(name="train"), TrainingChannel(name="validation")).create_step(
        [source], name="fit"
    )
    assert step.inputs["train"].value == source.output_ref("train").to_json()
    assert step.inputs["validation"].value == source.output_ref("validation").to_json()
    assert step.depends_on == ("prep",)


def test_a_similar_name_is_not_wired() -> None:
    with pytest.raises(DependencyResolutionError) as caught:
        builder(TrainingChannel(name="validation")).create_step([prep("val")], name="fit")
    message = str(caught.value)
    assert "step 'fit' needs input 'validation'" in message
    assert "prep.val (processing_output)" in message


def test_configured_sources_and_explicit_inputs() -> None:
    data = ParameterString("TrainData", "s3://b/train/")
    built = builder(
        TrainingChannel(name="train", source=data),
        TrainingChannel(name="test", source="s3://b/test/"),
        TrainingChannel(name="validation"),
    )
    step = built.create_step(name="fit", inputs={"validation": "s3://b/val/"})
    assert step.inputs["train"].value == {"Get": "Parameters.TrainData"}
    assert step.inputs["test"].value == "s3://b/test/"
    assert step.inputs["validation"].value == "s3://b/val/"
    assert data in step.attached_parameters
    # An explicit input overrides a configured source.
    again = built.create_step(name="fit", inputs={"validation": "s3://v/", "test": "s3://t/"})
    assert again.inputs["test"].value == "s3://t/"


def test_an_unknown_channel_input_names_the_channels() -> None:
    built = builder(TrainingChannel(name="train", source="s3://b/t/"))
    with pytest.raises(DependencyResolutionError) as caught:
        built.create_step(name="fit", inputs={"trian": "s3://b/x/"})
    assert "has no input 'trian'" in str(caught.value)
    assert "did you mean 'train'" in str(caught.value)


def test_without_channels_the_seed_input_path_stays() -> None:
    step = builder().create_step([prep("processed_data")], name="fit")
    assert list(step.inputs) == ["input_path"]
    assert step.inputs["input_path"].value == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
