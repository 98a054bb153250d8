"""Pipeline parameters in config fields: validated through their default, kept in the IR."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    ConfigValidationError,
    ModelHyperparameters,
    ProcessingConfig,
    ProcessingInput,
    PyTorchTrainingConfig,
)
from sagepipe.errors import PipelineDefinitionError
from sagepipe.expressions import (
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)

CODE = Path(__file__).parent.parent / "resources" / "code"


def test_parameter_constructors() -> None:
    assert ParameterString("A", "x") == Parameter("A", "String", "x")
    assert ParameterInteger("B", 3).parameter_type == "Integer"
    assert ParameterFloat("C", 1).default == 1
    assert ParameterBoolean("D", True).definition() == {
        "Name": "D",
        "Type": "Boolean",
        "DefaultValue": True,
    }


@pytest.mark.parametrize(
    ("name", "kind", "default", "message"),
    [
        ("1bad", "String", "x", "parameter name '1bad' is invalid"),
        ("A", "Integer", "3", "is Integer but its default '3' is a str"),
        ("A", "Integer", True, "is Integer but its default True is a bool"),
        ("A", "Boolean", 1, "is Boolean but its default 1 is a int"),
        ("A", "String", 1.5, "is String but its default 1.5 is a float"),
    ],
)
def test_parameter_rules(name: str, kind: str, default: object, message: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=message.replace("(", r"\(")):
        Parameter(name, kind, default)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [("Integer", "3", 3), ("Float", "0.5", 0.5), ("Boolean", "TRUE", True), ("String", "a", "a")],
)
def test_parameter_coerce(kind: str, raw: str, value: object) -> None:
    default = {"Integer": 0, "Float": 0.0, "Boolean": False, "String": ""}[kind]
    assert Parameter("P", kind, default).coerce(raw) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "raw"), [("Integer", "1.5"), ("Float", "x"), ("Boolean", "1")])
def test_parameter_coerce_rejects_bad_values(kind: str, raw: str) -> None:
    default = {"Integer": 0, "Float": 0.0, "Boolean": False}[kind]
    with pytest.raises(PipelineDefinitionError, match=f"parameter 'P' is {kind}"):
        Parameter("P", kind, default).coerce(raw)  # type: ignore[arg-type]


def make_training(**overrides: object) -> PyTorchTrainingConfig:
    return PyTorchTrainingConfig(
        source_dir=str(CODE), framework_version="2.1.0", py_version="py310", **overrides
    )


def test_a_bound_field_holds_the_default_and_remembers_the_parameter() -> None:
    instance = ParameterString("TrainInstance", "ml.m5.xlarge")
    count = ParameterInteger("TrainCount", 2)
    config = make_training(training_instance_type=instance, training_instance_count=count)
    assert config.training_instance_type == "ml.m5.xlarge"
    assert config.training_instance_count == 2
    assert config.parameter_bindings == {
        "training_instance_type": instance,
        "training_instance_count": count,
    }
    assert set(config.parameters()) == {instance, count}


def test_ir_dump_writes_bound_fields_as_get() -> None:
    config = make_training(training_instance_type=ParameterString("TrainInstance", "ml.m5.xlarge"))
    dumped = config.ir_dump()
    assert dumped["training_instance_type"] == {"Get": "Parameters.TrainInstance"}
    assert dumped["training_instance_count"] == 1


def test_nested_bindings_are_found_and_dumped() -> None:
    rate = ParameterFloat("LearningRate", 0.01)
    hyperparameters = ModelHyperparameters(
        id_name="i", label_name="y", full_field_list=["i", "y"], learning_rate=rate
    )
    config = make_training(hyperparameters=hyperparameters)
    assert rate in config.parameters()
    hp = config.ir_dump()["hyperparameters"]
    assert isinstance(hp, dict)
    assert hp["learning_rate"] == {"Get": "Parameters.LearningRate"}


def test_the_default_of_a_parameter_obeys_the_field_rules() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make_training(training_instance_type=ParameterString("TrainInstance", "m5.large"))
    assert "training_instance_type" in str(caught.value)
    with pytest.raises(ConfigValidationError, match="max_payload_mb"):
        BatchTransformConfig(max_payload_mb=ParameterInteger("Payload", 500))


def test_bindings_take_part_in_equality() -> None:
    literal = make_training(training_instance_type="ml.m5.xlarge")
    bound = make_training(training_instance_type=ParameterString("T", "ml.m5.xlarge"))
    assert literal != bound
    assert bound == make_training(training_instance_type=ParameterString("T", "ml.m5.xlarge"))
    assert bound != make_training(training_instance_type=ParameterString("U", "ml.m5.xlarge"))


def test_bindings_inside_lists_of_configs() -> None:
    day = ParameterString("Day", "s3://bucket/day/")
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=str(CODE),
        inputs=[
            ProcessingInput(name="a", source="s3://b/a/"),
            ProcessingInput(name="d", source=day),
        ],
    )
    assert config.inputs[1].source == "s3://bucket/day/"
    assert config.parameters() == (day,)
    dumped = config.ir_dump()["inputs"]
    assert isinstance(dumped, list)
    assert dumped[0] == {"name": "a", "source": "s3://b/a/", "destination": None}
    assert dumped[1] == {"name": "d", "source": {"Get": "Parameters.Day"}, "destination": None}
