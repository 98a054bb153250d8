"""The dependency resolver: one candidate, none, several, explicit; exact names and types."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    PackagingConfig,
    ProcessingConfig,
    ProcessingOutput,
    PyTorchTrainingConfig,
    RegistrationConfig,
)
from sagepipe.errors import DependencyResolutionError
from sagepipe.pipeline import DependencySpec, Step, StepSpecification
from sagepipe.pipeline.resolver import find_candidates, resolve_inputs
from sagepipe.steps import (
    PackagingStepBuilder,
    ProcessingStepBuilder,
    PyTorchTrainingStepBuilder,
    RegistrationStepBuilder,
)

CODE = str(Path(__file__).parent.parent / "resources" / "code")
TRAIN_OUTPUT = "Steps.{}.ProcessingOutputConfig.Outputs['{}'].S3Output.S3Uri"


def processing(name: str, *outputs: ProcessingOutput) -> Step:
    config = ProcessingConfig(
        processing_entry_point="preprocess.py", source_dir=CODE, outputs=list(outputs)
    )
    return ProcessingStepBuilder(config).create_step(name=name)


def training_builder() -> PyTorchTrainingStepBuilder:
    config = PyTorchTrainingConfig(source_dir=CODE, framework_version="2.1.0", py_version="py310")
    return PyTorchTrainingStepBuilder(config)


def test_one_candidate_is_wired_with_its_reason() -> None:
    preprocess = processing("preprocess", ProcessingOutput(name="processed_data"))
    train = training_builder().create_step(dependencies=[preprocess], name="train")
    binding = train.inputs["input_path"]
    assert binding.source == "resolved"
    assert binding.value == {"Get": TRAIN_OUTPUT.format("preprocess", "processed_data")}
    assert binding.reason == (
        "preprocess.processed_data (name 'processed_data', type processing_output)"
    )
    assert train.depends_on == ("preprocess",)


def test_a_match_by_alias_is_wired() -> None:
    preprocess = processing("preprocess", ProcessingOutput(name="training_data"))
    train = training_builder().create_step(dependencies=[preprocess], name="train")
    assert "name 'training_data'" in train.inputs["input_path"].reason


def test_names_are_matched_exactly_not_by_similarity() -> None:
    preprocess = processing("preprocess", ProcessingOutput(name="processed_data_v2"))
    with pytest.raises(DependencyResolutionError, match="no predecessor offers it"):
        training_builder().create_step(dependencies=[preprocess], name="train")


def test_an_output_of_the_wrong_type_is_not_a_candidate() -> None:
    preprocess = processing(
        "preprocess", ProcessingOutput(name="processed_data", output_type="report")
    )
    with pytest.raises(DependencyResolutionError) as caught:
        training_builder().create_step(dependencies=[preprocess], name="train")
    message = str(caught.value)
    assert "step 'train' needs input 'input_path'" in message
    assert "types processing_output, training_data" in message
    assert "predecessors offer: preprocess.processed_data (report)" in message


def test_no_predecessor_at_all() -> None:
    with pytest.raises(DependencyResolutionError) as caught:
        training_builder().create_step(name="train")
    assert "predecessors offer: nothing (no predecessors)" in str(caught.value)
    assert "give it: create_step(input_path=<s3:// URI or step output>)" in str(caught.value)
    assert "inputs={'train': {'input_path': <s3:// URI or OutputOf(" in str(caught.value)


def test_several_candidates_ask_for_an_explicit_mapping() -> None:
    first = processing("first", ProcessingOutput(name="processed_data"))
    second = processing("second", ProcessingOutput(name="data"))
    with pytest.raises(DependencyResolutionError) as caught:
        training_builder().create_step(dependencies=[first, second], name="train")
    message = str(caught.value)
    assert "input 'input_path' can come from several outputs" in message
    assert "first.processed_data, second.data" in message
    assert "map it explicitly" in message


def test_explicit_inputs_win_over_candidates() -> None:
    first = processing("first", ProcessingOutput(name="processed_data"))
    second = processing("second", ProcessingOutput(name="processed_data"))
    train = training_builder().create_step(
        dependencies=[first, second],
        name="train",
        inputs={"input_path": second.output_ref("processed_data")},
    )
    binding = train.inputs["input_path"]
    assert binding.source == "explicit"
    assert binding.reason == "given explicitly"
    assert binding.value == {"Get": TRAIN_OUTPUT.format("second", "processed_data")}
    assert train.depends_on == ("first", "second")


def test_an_explicit_reference_adds_the_dependency() -> None:
    preprocess = processing("preprocess", ProcessingOutput(name="processed_data"))
    train = training_builder().create_step(
        name="train", input_path=preprocess.properties.ProcessingOutputConfig.Outputs[
            "processed_data"
        ].S3Output.S3Uri,
    )  # fmt: skip
    assert train.depends_on == ("preprocess",)


def test_an_explicit_literal_needs_no_predecessor() -> None:
    train = training_builder().create_step(name="train", input_path="s3://bucket/data/")
    assert train.inputs["input_path"].value == "s3://bucket/data/"
    assert train.depends_on == ()


def test_unknown_explicit_input_suggests_the_closest() -> None:
    with pytest.raises(DependencyResolutionError) as caught:
        training_builder().create_step(name="train", input_pth="s3://b/d/")
    message = str(caught.value)
    assert "has no input 'input_pth' (did you mean 'input_path'?)" in message
    assert "its inputs are: input_path" in message


def test_optional_inputs_without_candidates_stay_unbound() -> None:
    model_dir = Path(CODE)
    packaging = PackagingStepBuilder(PackagingConfig(source_dir=str(model_dir))).create_step(
        name="packaging", model_input="s3://b/model.tar.gz"
    )
    registration = RegistrationStepBuilder(
        RegistrationConfig(model_package_group_name="g")
    ).create_step(dependencies=[packaging], name="registration")
    assert set(registration.inputs) == {"packaged_model"}


def test_compatible_sources_filter_candidates() -> None:
    preprocess = processing("preprocess", ProcessingOutput(name="processed_data"))
    only_training = DependencySpec(
        logical_name="processed_data",
        accepted_types=("processing_output",),
        compatible_sources=("PyTorchTrainingStep",),
    )
    assert find_candidates(only_training, [preprocess]) == []
    any_source = only_training.model_copy(update={"compatible_sources": ()})
    assert [c.step.name for c in find_candidates(any_source, [preprocess])] == ["preprocess"]


def test_resolution_is_deterministic() -> None:
    spec = StepSpecification(
        step_type="X",
        kind="Processing",
        dependencies=(
            DependencySpec(logical_name="b", accepted_types=("processing_output",)),
            DependencySpec(logical_name="a", accepted_types=("processing_output",)),
        ),
    )
    upstream = processing("up", ProcessingOutput(name="a"), ProcessingOutput(name="b"))
    first = resolve_inputs("x", spec, [upstream], {})
    assert list(first) == ["b", "a"]
    assert first == resolve_inputs("x", spec, [upstream], {})
