"""Each step builder: its specification, contract, code, config JSON and default name."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    DataLoadingConfig,
    EndpointConfig,
    PackagingConfig,
    PayloadConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
    TabularPreprocessingConfig,
)
from sagepipe.config.base import BasePipelineConfig
from sagepipe.errors import PipelineDefinitionError
from sagepipe.expressions import ParameterString
from sagepipe.pipeline import StepBuilder
from sagepipe.steps import (
    DEFAULT_STEP_BUILDERS,
    BatchTransformStepBuilder,
    DataLoadingStepBuilder,
    EndpointStepBuilder,
    PackagingStepBuilder,
    PayloadStepBuilder,
    ProcessingStepBuilder,
    PyTorchModelStepBuilder,
    PytorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    RegistrationStepBuilder,
    TabularPreprocessingStepBuilder,
)

CODE = Path(__file__).parent.parent / "resources" / "code"
VERSIONS = {"framework_version": "2.1.0", "py_version": "py310"}

CASES: list[tuple[type[StepBuilder], BasePipelineConfig, dict[str, object], str, str]] = [
    (
        ProcessingStepBuilder,
        ProcessingConfig(
            processing_entry_point="preprocess.py",
            source_dir=str(CODE),
            inputs=[ProcessingInput(name="raw")],
            outputs=[ProcessingOutput(name="out")],
        ),
        {"raw": "s3://b/raw/"},
        "Processing",
        "Processing",
    ),
    (
        PyTorchTrainingStepBuilder,
        PyTorchTrainingConfig(source_dir=str(CODE), **VERSIONS),
        {"input_path": "s3://b/data/"},
        "PyTorchTraining",
        "Training",
    ),
    (
        PyTorchModelStepBuilder,
        PyTorchModelConfig(source_dir=str(CODE), **VERSIONS),
        {"model_data": "s3://b/model.tar.gz"},
        "PyTorchModel",
        "Model",
    ),
    (
        PackagingStepBuilder,
        PackagingConfig(source_dir=str(CODE)),
        {"model_input": "s3://b/model.tar.gz"},
        "Packaging",
        "Processing",
    ),
    (
        PayloadStepBuilder,
        PayloadConfig(),
        {"model_input": "s3://b/model.tar.gz"},
        "Payload",
        "Processing",
    ),
    (
        RegistrationStepBuilder,
        RegistrationConfig(model_package_group_name="g"),
        {"packaged_model": "s3://b/packaged.tar.gz"},
        "Registration",
        "RegisterModel",
    ),
    (
        BatchTransformStepBuilder,
        BatchTransformConfig(),
        {"model_name": "m", "input_data": "s3://b/in/"},
        "BatchTransform",
        "Transform",
    ),
    (
        EndpointStepBuilder,
        EndpointConfig(endpoint_name="ep"),
        {"model_name": "m"},
        "Endpoint",
        "Endpoint",
    ),
    (
        DataLoadingStepBuilder,
        DataLoadingConfig(),
        {"source": "s3://b/raw/"},
        "DataLoading",
        "Processing",
    ),
    (
        TabularPreprocessingStepBuilder,
        TabularPreprocessingConfig(label_name="label"),
        {"data": "s3://b/raw/"},
        "TabularPreprocessing",
        "Processing",
    ),
]
IDS = [case[0].__name__ for case in CASES]


def test_default_builders_cover_every_step_type() -> None:
    assert {case[0].step_type: case[0] for case in CASES} == DEFAULT_STEP_BUILDERS
    for builder, config, *_ in CASES:
        assert builder.config_class is type(config)
        assert type(config).step_type == builder.step_type
    assert PytorchModelStepBuilder is PyTorchModelStepBuilder


@pytest.mark.parametrize(("builder", "config", "inputs", "name", "kind"), CASES, ids=IDS)
def test_builder_builds_its_step(
    builder: type[StepBuilder],
    config: BasePipelineConfig,
    inputs: dict[str, object],
    name: str,
    kind: str,
) -> None:
    step = builder(config).create_step(inputs=inputs)
    assert step.name == name == builder.default_name
    assert step.step_type == builder.step_type
    assert step.config_type == type(config).__name__
    assert step.specification.kind == kind
    assert step.specification.step_type == builder.step_type
    assert set(inputs) <= set(step.inputs)
    assert all(step.inputs[k].source == "explicit" for k in inputs)
    for field in builder.code_fields:
        assert field not in step.config
    # Every declared output has a property path that exists in the step's shape.
    for output in step.outputs:
        assert step.output_ref(output.logical_name).to_json() == {
            "Get": f"Steps.{name}.{output.property_path}"
        }


@pytest.mark.parametrize(("builder", "config", "inputs", "name", "kind"), CASES, ids=IDS)
def test_builder_rejects_another_config_type(
    builder: type[StepBuilder],
    config: BasePipelineConfig,
    inputs: dict[str, object],
    name: str,
    kind: str,
) -> None:
    other = (
        EndpointConfig(endpoint_name="x") if builder is not EndpointStepBuilder else PayloadConfig()
    )
    with pytest.raises(PipelineDefinitionError, match=f"{builder.__name__} needs a"):
        builder(other)


def test_training_code_and_contract() -> None:
    builder = PyTorchTrainingStepBuilder(
        PyTorchTrainingConfig(source_dir=str(CODE), training_entry_point="train.py", **VERSIONS)
    )
    code = builder.code()
    assert (code.source_dir, code.entry_point) == (str(CODE), "train.py")
    contract = builder.contract()
    assert contract.entry_point == "train.py"
    assert contract.input_paths == {"input_path": "/opt/ml/input/data/data"}
    assert contract.output_paths["model_artifacts"] == "/opt/ml/model"
    assert "SM_CHANNEL_DATA" in contract.required_env_vars
    spec = builder.specification()
    dependency = spec.dependency("input_path")
    assert dependency is not None
    assert "processed_data" in dependency.aliases
    assert [o.logical_name for o in spec.outputs] == ["model_artifacts", "output_path", "metrics"]


def test_processing_contract_and_configured_inputs() -> None:
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=str(CODE),
        arguments=["--x", "1"],
        inputs=[ProcessingInput(name="raw", source="s3://b/raw/"), ProcessingInput(name="extra")],
        outputs=[ProcessingOutput(name="out", output_type="custom")],
    )
    builder = ProcessingStepBuilder(config)
    contract = builder.contract()
    assert contract.entry_point == "preprocess.py"
    assert contract.input_paths == {
        "raw": "/opt/ml/processing/input/raw",
        "extra": "/opt/ml/processing/input/extra",
    }
    assert contract.output_paths == {"out": "/opt/ml/processing/output/out"}
    step = builder.create_step(name="p", extra="s3://b/extra/")
    assert step.inputs["raw"].value == "s3://b/raw/"
    assert step.outputs[0].output_type == "custom"


def test_model_step_carries_the_container_environment() -> None:
    config = PyTorchModelConfig(source_dir=str(CODE), region="eu-west-1", **VERSIONS)
    step = PyTorchModelStepBuilder(config).create_step(model_data="s3://b/m.tar.gz")
    assert step.config["container_environment"] == config.container_environment()
    assert step.code is not None
    assert step.code.entry_point == "inference.py"


def test_packaging_code_includes_dependencies() -> None:
    config = PackagingConfig(source_dir=str(CODE), dependencies=[str(CODE / "train.py")])
    step = PackagingStepBuilder(config).create_step(model_input="s3://b/m.tar.gz")
    assert step.code is not None
    assert step.code.dependencies == (str(CODE / "train.py"),)
    assert "dependencies" not in step.config


def test_role_overrides_the_config_role() -> None:
    role = "arn:aws:iam::123456789012:role/Other"
    step = EndpointStepBuilder(EndpointConfig(endpoint_name="ep"), role=role).create_step(
        model_name="m"
    )
    assert step.config["role"] == role


def test_parameters_used_by_a_step_are_attached() -> None:
    instance = ParameterString("Instance", "ml.m5.large")
    data = ParameterString("Data", "s3://b/in/")
    step = BatchTransformStepBuilder(
        BatchTransformConfig(transform_instance_type=instance)
    ).create_step(model_name="m", input_data=data)
    assert set(step.attached_parameters) == {instance, data}
    assert step.config["transform_instance_type"] == {"Get": "Parameters.Instance"}
    assert step.inputs["input_data"].value == {"Get": "Parameters.Data"}


def test_dependencies_must_be_steps() -> None:
    builder = EndpointStepBuilder(EndpointConfig(endpoint_name="ep"))
    with pytest.raises(PipelineDefinitionError, match="dependencies must be steps"):
        builder.create_step(dependencies=["model"], model_name="m")  # type: ignore[list-item]


def test_step_names_are_validated() -> None:
    builder = EndpointStepBuilder(EndpointConfig(endpoint_name="ep"))
    with pytest.raises(PipelineDefinitionError, match="step name 'bad name' is invalid"):
        builder.create_step(name="bad name", model_name="m")


def test_registration_fans_out_per_region() -> None:
    config = RegistrationConfig(model_package_group_name="g", regions=["us-east-1", "eu-west-1"])
    steps = RegistrationStepBuilder(config).create_steps(
        inputs={"packaged_model": "s3://b/p.tar.gz"}
    )
    assert [s.name for s in steps] == ["Registration_us-east-1", "Registration_eu-west-1"]
    assert [s.config["region"] for s in steps] == ["us-east-1", "eu-west-1"]
    single = RegistrationStepBuilder(RegistrationConfig(model_package_group_name="g"))
    assert [s.name for s in single.create_steps(inputs={"packaged_model": "s3://b/p"})] == [
        "Registration"
    ]


def test_a_processing_input_source_bound_to_a_parameter_stays_the_parameter() -> None:
    day = ParameterString("Day", "s3://bucket/day/")
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=str(CODE),
        inputs=[ProcessingInput(name="raw", source=day)],
    )
    step = ProcessingStepBuilder(config).create_step(name="p")
    assert step.inputs["raw"].value == {"Get": "Parameters.Day"}
    assert step.attached_parameters == (day,)
