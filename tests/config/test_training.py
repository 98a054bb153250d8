"""PyTorchTrainingConfig: the exact defaults and every rule, both ways."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import (
    ConfigValidationError,
    MetricDefinition,
    ModelHyperparameters,
    PyTorchTrainingConfig,
)
from sagepipe.config.training import TrainingChannel
from sagepipe.expressions import ParameterInteger, ParameterString

CODE = Path(__file__).parent.parent / "resources" / "code"


def make(**overrides: Any) -> PyTorchTrainingConfig:
    fields: dict[str, Any] = {
        "source_dir": str(CODE),
        "framework_version": "2.1.0",
        "py_version": "py310",
    }
    fields.update(overrides)
    return PyTorchTrainingConfig(**fields)


def test_defaults() -> None:
    config = make()
    assert config.training_instance_type == "ml.g5.12xlarge"
    assert config.training_instance_count == 1
    assert config.training_volume_size == 30
    assert config.training_entry_point == "train.py"
    assert config.hyperparameters is None
    assert config.env == {}
    assert config.distribution is None
    assert config.processes_per_host is None
    assert config.max_runtime_seconds == 86400
    assert config.checkpoint_s3_uri is None
    assert config.output_path is None
    assert config.image_uri is None
    assert config.step_type == "PyTorchTrainingStep"


def test_default_metric_definitions_capture_the_four_metrics() -> None:
    definitions = make().metric_definitions
    assert [d.Name for d in definitions] == [
        "Train Loss",
        "Validation Loss",
        "Validation F1 Score",
        "Validation AUC ROC",
    ]
    log = (
        "Train Loss: 0.52\nValidation Loss: 4e-1\nValidation F1 Score: 0.75\nValidation AUC ROC: .9"
    )
    captured = [re.search(d.Regex, log) for d in definitions]
    assert [m.group(1) for m in captured if m] == ["0.52", "4e-1", "0.75", ".9"]


def test_seed_usage_example() -> None:
    hyperparameters = ModelHyperparameters(
        id_name="customer_id",
        label_name="target",
        full_field_list=["customer_id", "target", "feature1", "feature2", "feature3"],
        tab_field_list=["feature1", "feature2"],
        cat_field_list=["feature3"],
        learning_rate=0.001,
        batch_size=64,
        epochs=10,
    )
    config = PyTorchTrainingConfig(
        training_instance_type="ml.g5.12xlarge",
        training_instance_count=1,
        training_volume_size=30,
        training_entry_point="train.py",
        source_dir="s3://my-bucket/scripts/",
        framework_version="1.13.1",
        py_version="py39",
        hyperparameters=hyperparameters,
        env={"CA_REPOSITORY_ARN": "arn:aws:codeartifact:us-east-1:123456789012:repository/d/r"},
    )
    assert config.hyperparameters == hyperparameters
    assert config.source_dir == "s3://my-bucket/scripts/"


_VERSIONS_NEEDED = "framework_version and py_version are required .* unless image_uri"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("source_dir", "source_dir: required field is missing"),
        ("framework_version", _VERSIONS_NEEDED),
        ("py_version", _VERSIONS_NEEDED),
    ],
)
def test_required_fields(field: str, message: str) -> None:
    fields = {"source_dir": str(CODE), "framework_version": "2.1.0", "py_version": "py310"}
    del fields[field]
    with pytest.raises(ConfigValidationError, match=message):
        PyTorchTrainingConfig(**fields)


VALID: list[dict[str, Any]] = [
    {"training_instance_type": "ml.m5.xlarge"},
    {"training_instance_type": "ml.p4d.24xlarge", "training_instance_count": 4},
    {"training_volume_size": 500},
    {"distribution": "torch_distributed", "processes_per_host": 2},
    {"distribution": "pytorchddp"},
    {"max_runtime_seconds": 60},
    {"checkpoint_s3_uri": "s3://b/ckpt", "output_path": "s3://b/out"},
    {"metric_definitions": [MetricDefinition(Name="acc", Regex="acc=([0-9.]+)")]},
    {"metric_definitions": []},
    {"source_dir": "s3://bucket/code.tar.gz", "training_entry_point": "anything.py"},
]


@pytest.mark.parametrize("overrides", VALID)
def test_valid_values(overrides: dict[str, Any]) -> None:
    config = make(**overrides)
    for name, value in overrides.items():
        assert getattr(config, name) == value


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"training_instance_type": "m5.xlarge"}, "training_instance_type", "ml.<family>.<size>"),
    ({"training_instance_type": "ml.x9.large"}, "training_instance_type", "unknown instance"),
    ({"training_instance_count": 0}, "training_instance_count", "greater than or equal to 1"),
    ({"training_volume_size": 0}, "training_volume_size", "greater than or equal to 1"),
    ({"training_entry_point": ""}, "training_entry_point", "at least 1 character"),
    ({"training_entry_point": "missing.py"}, "training_entry_point", "is not a file in"),
    ({"source_dir": ""}, "source_dir", "must be given"),
    ({"source_dir": "/no/such/dir"}, "source_dir", "does not exist"),
    ({"framework_version": "two"}, "framework_version", "not a framework version"),
    ({"py_version": "python3"}, "py_version", "not a Python version"),
    ({"distribution": "mpi"}, "distribution", "torch_distributed"),
    ({"processes_per_host": 2}, "processes_per_host", "needs distribution"),
    ({"max_runtime_seconds": 0}, "max_runtime_seconds", "greater than or equal to 1"),
    ({"checkpoint_s3_uri": "/tmp/ckpt"}, "checkpoint_s3_uri", "not an s3:// URI"),
    ({"output_path": "s3://"}, "output_path", "not an s3:// URI"),
    ({"env": {"A": 1}}, "env", "valid string"),
    (
        {"metric_definitions": [{"Name": "a", "Regex": "a=(.*)"}, {"Name": "a", "Regex": "(b)"}]},
        "metric_definitions",
        "repeat the names ['a']",
    ),
    ({"metric_definitions": [{"Name": "a", "Regex": "a=.*"}]}, "Regex", "one capture group"),
    ({"metric_definitions": [{"Name": "a", "Regex": "a=(["}]}, "Regex", "does not compile"),
    ({"metric_definitions": [{"Name": "", "Regex": "(a)"}]}, "Name", "at least 1 character"),
    (
        {"hyperparameters": {"id_name": "x"}, "hyperparameters_type": "ModelHyperparameters"},
        "hyperparameters.ModelHyperparameters.label_name",
        "required field",
    ),
    (
        {"hyperparameters": {"a": 1}, "hyperparameters_type": "TabularHyperparameters"},
        "(config)",
        "hyperparameters_type 'TabularHyperparameters' is unknown",
    ),
    (
        {"hyperparameters_type": "ModelHyperparameters"},
        "(config)",
        "needs hyperparameters: a mapping",
    ),
    (
        {"hyperparameters": {"sagemaker_program": "x.py"}},
        "hyperparameters.free-form",
        "names starting with 'sagemaker_' are set by sagepipe",
    ),
    ({"hyperparameters": {"": 1}}, "hyperparameters.free-form", "non-empty strings"),
    ({"hyperparameters": {"lr": float("inf")}}, "hyperparameters.free-form", "not a JSON number"),
    ({"hyperparameters": {"when": Path("/x")}}, "hyperparameters.free-form", "not a JSON value"),
    (
        {"hyperparameters": {"blob": "x" * 2600}},
        "hyperparameters.free-form",
        "SageMaker allows 2500",
    ),
    (
        {"hyperparameters": {"layers": [ParameterInteger("Layers", 2)]}},
        "hyperparameters.free-form",
        "must be a whole value",
    ),
    ({"channels": [{"name": "train data"}]}, "channels.0.name", "not a valid channel name"),
    ({"channels": [{"name": "x" * 65}]}, "channels.0.name", "not a valid channel name"),
    ({"channels": [{"name": ""}]}, "channels.0.name", "not a valid channel name"),
    (
        {"channels": [{"name": "train"}, {"name": "train"}]},
        "(config)",
        "channels repeat the names ['train']",
    ),
    (
        {"channels": [{"name": f"c{i}"} for i in range(21)]},
        "(config)",
        "accepts at most 20",
    ),
    ({"channels": [{"name": "train", "input_mode": "Pipe"}]}, "channels.0.input_mode", "File"),
    ({"channels": [{"name": "train", "sorce": "s3://b/x"}]}, "channels.0.sorce", "did you mean"),
    ({"trainning_entry_point": "x.py"}, "trainning_entry_point", "did you mean"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), INVALID)
def test_invalid_values_name_the_field(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make(**overrides)
    text = str(caught.value)
    assert field in text
    assert message in text


def test_relative_source_dir_is_resolved_against_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CODE.parent)
    assert make(source_dir="code").source_dir == str(CODE.resolve())


def test_relative_source_dir_is_resolved_against_the_base_dir_context() -> None:
    config = PyTorchTrainingConfig.model_validate(
        {"source_dir": "code", "framework_version": "2.1.0", "py_version": "py310"},
        context={"base_dir": str(CODE.parent)},
    )
    assert config.source_dir == str(CODE.resolve())


# --- free-form and typed hyperparameters ---------------------------------------------------


TABULAR = {"id_name": "id", "label_name": "y", "full_field_list": ["id", "y", "x"]}


def test_a_mapping_is_free_form_even_with_the_typed_keys() -> None:
    config = make(hyperparameters={**TABULAR, "my_flag": True})
    assert config.hyperparameters == {**TABULAR, "my_flag": True}
    assert config.hyperparameters_type is None
    assert config.ir_dump()["hyperparameters"] == {**TABULAR, "my_flag": True}


def test_free_form_values_may_be_any_json_or_a_whole_parameter() -> None:
    epochs = ParameterInteger("Epochs", 3)
    values = {"lr": 0.01, "layers": [64, 32], "opts": {"beta": 0.9}, "name": "x", "off": None}
    config = make(hyperparameters={**values, "epochs": epochs})
    assert config.parameters() == (epochs,)
    assert config.ir_dump()["hyperparameters"] == {
        **values,
        "epochs": {"Get": "Parameters.Epochs"},
    }


def test_an_instance_is_typed_and_names_its_type() -> None:
    hyperparameters = ModelHyperparameters(**TABULAR, tab_field_list=["x"], epochs=4)
    config = make(hyperparameters=hyperparameters)
    assert config.hyperparameters is hyperparameters
    assert config.hyperparameters_type == "ModelHyperparameters"


def test_a_subclass_instance_keeps_its_class_and_fields() -> None:
    class Wider(ModelHyperparameters):
        width: int = 8

    config = make(hyperparameters=Wider(**TABULAR, width=16))
    assert type(config.hyperparameters) is Wider
    assert config.hyperparameters_type == "Wider"
    assert config.ir_dump()["hyperparameters"] == {**TABULAR, "width": 16}


def test_typed_passes_only_the_fields_the_user_set() -> None:
    epochs = ParameterInteger("Epochs", 3)
    config = make(hyperparameters=ModelHyperparameters(**TABULAR, dropout=0.1, epochs=epochs))
    dumped = config.ir_dump()["hyperparameters"]
    # dropout is set to its default value: set, so passed; epochs stays the parameter.
    assert dumped == {**TABULAR, "dropout": 0.1, "epochs": {"Get": "Parameters.Epochs"}}
    assert config.parameters() == (epochs,)


def test_hyperparameters_type_validates_a_mapping_as_typed() -> None:
    config = make(hyperparameters=TABULAR, hyperparameters_type="ModelHyperparameters")
    assert type(config.hyperparameters) is ModelHyperparameters
    assert config == make(hyperparameters=ModelHyperparameters(**TABULAR))


def test_hyperparameters_type_must_match_an_instance() -> None:
    with pytest.raises(ConfigValidationError, match="drop hyperparameters_type"):
        make(hyperparameters=ModelHyperparameters(**TABULAR), hyperparameters_type="Other")


# --- channels ------------------------------------------------------------------------------


def test_channels_default_to_none_the_seed_data_channel() -> None:
    assert make().channels == []


def test_channel_sources_and_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = ParameterString("TrainData", "s3://bucket/train/")
    config = make(
        channels=[
            TrainingChannel(name="train", source=source, content_type="text/csv"),
            {"name": "validation", "source": "val", "input_mode": "FastFile"},
            {"name": "test.v2", "distribution": "ShardedByS3Key"},
        ]
    )
    train, validation, test = config.channels
    assert train.source == "s3://bucket/train/"
    assert train.parameter_bindings == {"source": source}
    assert validation.source == str(tmp_path / "val")  # relative: from the working directory
    assert test.source is None
    assert config.parameters() == (source,)


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_channel_source_is_refused_not_the_whole_project(empty: str) -> None:
    with pytest.raises(ConfigValidationError, match=r"channels\.0\.source.*must not be empty"):
        make(channels=[{"name": "train", "source": empty}])
