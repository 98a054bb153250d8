"""save_configs / load_configs: exact round trips in JSON and YAML, and located errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from sagepipe.config import (
    BasePipelineConfig,
    BatchTransformConfig,
    ConfigValidationError,
    EndpointConfig,
    MetricDefinition,
    ModelHyperparameters,
    PackagingConfig,
    PayloadConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
)
from sagepipe.config.files import CONFIG_TYPES, load_configs, read_config_file, save_configs
from sagepipe.errors import ConfigError, ConfigFileError
from sagepipe.expressions import ParameterFloat, ParameterInteger, ParameterString

RESOURCES = Path(__file__).parent.parent / "resources"
SHARED: dict[str, Any] = {
    "pipeline_name": "round-trip",
    "framework_version": "2.1.0",
    "py_version": "py310",
    "bucket": "my-bucket",
    "tags": {"team": "ml"},
}


@pytest.fixture
def code(tmp_path: Path) -> Path:
    target = tmp_path / "project" / "code"
    shutil.copytree(RESOURCES / "code", target)
    return target


def all_configs(code: Path) -> dict[str, BasePipelineConfig]:
    instance = ParameterString("TrainInstance", "ml.m5.xlarge")
    rate = ParameterFloat("LearningRate", 0.01)
    hyperparameters = ModelHyperparameters(
        id_name="id",
        label_name="y",
        full_field_list=["id", "y", "a", "b"],
        tab_field_list=["a"],
        cat_field_list=["b"],
        learning_rate=rate,
        hidden_units=[8],
    )
    return {
        "preprocess": ProcessingConfig(
            **SHARED,
            processing_entry_point="preprocess.py",
            source_dir=str(code),
            arguments=["--ratio", "0.7"],
            inputs=[
                ProcessingInput(name="raw", source="s3://data/raw/"),
                ProcessingInput(name="day", source=ParameterString("Day", "s3://data/d1/")),
            ],
            outputs=[ProcessingOutput(name="processed_data")],
        ),
        "train": PyTorchTrainingConfig(
            **SHARED,
            source_dir=str(code),
            training_instance_type=instance,
            training_instance_count=ParameterInteger("TrainCount", 1),
            hyperparameters=hyperparameters,
            metric_definitions=[MetricDefinition(Name="acc", Regex="acc=([0-9.]+)")],
            env={"A": "1"},
        ),
        "model": PyTorchModelConfig(
            **SHARED, source_dir=str(code), container_memory_limit=8192, region="eu-west-1"
        ),
        "packaging": PackagingConfig(
            **SHARED, source_dir=str(code), dependencies=[str(code / "train.py")]
        ),
        "payload": PayloadConfig(**SHARED, hyperparameters=hyperparameters, sample_count=3),
        "registration": RegistrationConfig(
            **SHARED, model_package_group_name="group", regions=["us-east-1", "us-west-2"]
        ),
        "transform": BatchTransformConfig(**SHARED, join_source="Input"),
        "endpoint": EndpointConfig(**SHARED, endpoint_name="ep"),
        "remote": PyTorchTrainingConfig(
            **SHARED, source_dir="s3://bucket/code.tar.gz", training_instance_type=instance
        ),
    }


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_round_trip_is_exact(code: Path, suffix: str) -> None:
    configs = all_configs(code)
    path = save_configs(configs, code.parent / "conf" / f"configs{suffix}")
    loaded = load_configs(path)
    assert list(loaded) == list(configs)
    for step, config in configs.items():
        assert loaded[step] == config, step
        assert loaded[step].parameter_bindings == config.parameter_bindings
    hyperparameters = loaded["train"].hyperparameters  # type: ignore[attr-defined]
    assert hyperparameters.parameter_bindings == {
        "learning_rate": ParameterFloat("LearningRate", 0.01)
    }
    assert loaded == configs


def test_saving_twice_gives_the_same_bytes(code: Path) -> None:
    first = save_configs(all_configs(code), code.parent / "a.yaml").read_bytes()
    again = save_configs(load_configs(code.parent / "a.yaml"), code.parent / "b.yaml")
    assert again.read_bytes() == first


def test_layout_of_the_file(code: Path) -> None:
    path = save_configs(all_configs(code), code.parent / "conf" / "configs.yaml")
    document = yaml.safe_load(path.read_text())
    assert list(document) == ["shared", "parameters", "configs"]
    # Shared: the base fields with one value in every config; region differs (model).
    assert document["shared"] == SHARED
    assert document["configs"]["model"]["region"] == "eu-west-1"
    assert "region" not in document["configs"]["train"]
    assert document["parameters"] == {
        "Day": {"type": "String", "default": "s3://data/d1/"},
        "TrainInstance": {"type": "String", "default": "ml.m5.xlarge"},
        "TrainCount": {"type": "Integer", "default": 1},
        "LearningRate": {"type": "Float", "default": 0.01},
    }
    train = document["configs"]["train"]
    assert train["config_type"] == "PyTorchTrainingConfig"
    assert train["training_instance_type"] == {"Get": "Parameters.TrainInstance"}
    assert train["hyperparameters"]["learning_rate"] == {"Get": "Parameters.LearningRate"}
    # Local paths are relative to the file; S3 URIs stay as they are.
    assert train["source_dir"] == "../code"
    assert document["configs"]["packaging"]["dependencies"] == ["../code/train.py"]
    assert document["configs"]["remote"]["source_dir"] == "s3://bucket/code.tar.gz"
    # Defaults are not written.
    assert "training_volume_size" not in train
    assert document["configs"]["endpoint"] == {
        "config_type": "EndpointConfig",
        "endpoint_name": "ep",
    }


def test_relative_paths_follow_the_file(code: Path, tmp_path: Path) -> None:
    save_configs(all_configs(code), code.parent / "configs.json")
    moved = tmp_path / "moved"
    shutil.copytree(code.parent, moved)
    loaded = load_configs(moved / "configs.json")
    assert loaded["train"].source_dir == str((moved / "code").resolve())  # type: ignore[attr-defined]
    assert loaded["packaging"].dependencies == [  # type: ignore[attr-defined]
        str((moved / "code" / "train.py").resolve())
    ]


def test_a_single_config_writes_its_base_fields_as_shared(code: Path) -> None:
    configs = {"only": EndpointConfig(endpoint_name="ep", region="eu-west-1")}
    path = save_configs(configs, code.parent / "one.json")
    assert json.loads(path.read_text()) == {
        "shared": {"region": "eu-west-1"},
        "configs": {"only": {"config_type": "EndpointConfig", "endpoint_name": "ep"}},
    }
    assert load_configs(path) == configs


def test_no_configs(tmp_path: Path) -> None:
    path = save_configs({}, tmp_path / "empty.yaml")
    assert load_configs(path) == {}


def test_hand_written_file_with_step_overrides_and_alias(code: Path) -> None:
    path = code.parent / "hand.yaml"
    path.write_text(
        """
shared:
  region: eu-west-1
  framework_version: "2.1.0"
  py_version: py310
configs:
  model:
    config_type: PytorchModelCreationConfig   # the seed spelling
    source_dir: code
    region: us-west-2                          # a step may override a shared field
  endpoint:
    config_type: EndpointConfig
    endpoint_name: ep
"""
    )
    file = read_config_file(path)
    assert file.pipeline is None
    assert file.parameters == {}
    model = file.configs["model"]
    assert isinstance(model, PyTorchModelConfig)
    assert model.region == "us-west-2"
    assert model.source_dir == str(code.resolve())
    assert file.configs["endpoint"].region == "eu-west-1"


def test_pipeline_section_is_written_and_read_back(code: Path) -> None:
    section = {"name": "p", "dag": {"edges": [["preprocess", "train"]]}}
    path = save_configs(all_configs(code), code.parent / "p.yaml", pipeline=section)
    assert read_config_file(path).pipeline == section


def test_config_types_table_holds_every_step_config_and_the_alias() -> None:
    assert CONFIG_TYPES["PytorchModelCreationConfig"] is PyTorchModelConfig
    assert {cls.__name__ for cls in CONFIG_TYPES.values()} == {
        "ProcessingConfig",
        "PyTorchTrainingConfig",
        "PyTorchModelConfig",
        "PackagingConfig",
        "PayloadConfig",
        "RegistrationConfig",
        "BatchTransformConfig",
        "EndpointConfig",
        "DataLoadingConfig",
        "TabularPreprocessingConfig",
    }


class MyEndpointConfig(EndpointConfig):
    step_type: ClassVar[str] = "EndpointStep"


def test_own_config_classes_need_config_types(tmp_path: Path) -> None:
    configs = {"ep": MyEndpointConfig(endpoint_name="ep")}
    with pytest.raises(ConfigFileError, match="MyEndpointConfig is not a config type"):
        save_configs(configs, tmp_path / "c.yaml")
    types = {"MyEndpointConfig": MyEndpointConfig}
    path = save_configs(configs, tmp_path / "c.yaml", config_types=types)
    assert load_configs(path, config_types=types) == configs


def test_extra_parameters_are_declared(tmp_path: Path) -> None:
    extra = ParameterString("InputData", "s3://b/in/")
    path = save_configs({}, tmp_path / "c.yaml", parameters=[extra])
    assert read_config_file(path).parameters == {"InputData": extra}


def test_two_parameters_with_one_name_are_rejected(tmp_path: Path) -> None:
    configs = {
        "a": EndpointConfig(endpoint_name="a", initial_instance_count=ParameterInteger("N", 1)),
        "b": EndpointConfig(endpoint_name="b", initial_instance_count=ParameterInteger("N", 2)),
    }
    with pytest.raises(ConfigFileError, match="parameter 'N' is bound with two different"):
        save_configs(configs, tmp_path / "c.yaml")


# --- errors ------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_configs(path)
    return str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in error_of(tmp_path / "nope.yaml")


def test_unknown_suffix(tmp_path: Path) -> None:
    assert "must end in .json, .yaml, .yml" in error_of(write(tmp_path, "{}", "c.toml"))


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  a:\n    config_type: [unclosed\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4:")
    assert "invalid YAML" in message


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "configs": {\n    "a": 1,\n  }\n}\n', "c.json")
    message = error_of(path)
    assert message.startswith(f"{path}:4:")
    assert "invalid JSON" in message


def alias_bomb(levels: int, width: int) -> str:
    """A list whose last item expands to ``width ** levels`` strings through aliases."""
    items = ["&a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels + 1):
        items.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "[" + ", ".join(items) + "]"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path, f"configs:\n  a:\n    bomb: {alias_bomb(8, 9)}\n")
    message = error_of(path)
    assert message.startswith(f"{path}: the YAML expands to more than 100,000 values")


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, f"configs:\n  a:\n    bomb: {alias_bomb(6, 20)}\n")
    assert error_of(path).startswith(f"{path}: too many YAML aliases (more than 100)")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  a: &loop\n    again: *loop\n")
    assert "recursive alias" in error_of(path)


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    text = "shared: &shared\n  region: us-east-1\nconfigs: {}\n"
    text += "".join(f"x{i}: *shared\n" for i in range(100))
    from sagepipe.config.documents import read_document

    document = read_document(write(tmp_path, text))
    assert document["x99"] == {"region": "us-east-1"}


def test_python_tags_stay_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "configs: !!python/object/apply:os.system ['true']\n")
    assert "invalid YAML" in error_of(path)


def test_repeated_keys_are_errors(tmp_path: Path) -> None:
    yaml_path = write(tmp_path, "configs:\n  a: {}\n  a: {}\n")
    assert error_of(yaml_path).startswith(f"{yaml_path}:3:")
    assert "'a' appears twice" in error_of(yaml_path)
    json_path = write(tmp_path, '{"configs": {"a": {}, "a": {}}}', "c.json")
    assert "'a' appears twice" in error_of(json_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "top level must be a mapping"),
        ("shared: {}\n", "configs: section is missing"),
        ("confgs: {}\n", "unknown top-level section 'confgs' (did you mean 'configs'?)"),
        ("configs: [a]\n", "configs: section must be a mapping"),
        ("configs:\n  a: 3\n", "step 'a': the entry must be a mapping"),
        ("configs:\n  a: {endpoint_name: x}\n", "step 'a': config_type is missing"),
        (
            "configs:\n  a: {config_type: EndpointConfg}\n",
            "step 'a': config_type 'EndpointConfg' is unknown (did you mean 'EndpointConfig'?)",
        ),
        ("configs:\n  1: {config_type: EndpointConfig}\n", "step names under configs: must be"),
        ("parameters: [a]\nconfigs: {}\n", "parameters: must map names"),
        ("parameters: {A: {type: String}}\nconfigs: {}\n", "parameters.A: write {type:"),
        (
            "parameters: {A: {type: Str, default: x}}\nconfigs: {}\n",
            "type 'Str' is unknown (did you mean 'String'?)",
        ),
        (
            "parameters: {A: {type: Integer, default: x}}\nconfigs: {}\n",
            "parameters.A: parameter 'A' is Integer but its default 'x' is a str",
        ),
        ("configs: {}\npipeline: [a]\n", "pipeline: section must be a mapping"),
    ],
)
def test_structure_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    error = error_of(path)
    assert str(path) in error
    assert message in error


def test_unknown_field_names_file_step_field_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  deploy:\n    config_type: EndpointConfig\n"
                 "    endpoint_name: ep\n    instance_typ: ml.m5.large\n")  # fmt: skip
    with pytest.raises(ConfigValidationError) as caught:
        load_configs(path)
    error = caught.value
    assert (error.file, error.step) == (path, "deploy")
    assert str(error) == (
        f"{path}, step 'deploy': EndpointConfig: instance_typ: unknown field "
        "(did you mean 'instance_type'?)"
    )


def test_invalid_value_names_file_step_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  deploy:\n    config_type: EndpointConfig\n"
                 "    endpoint_name: ep\n    initial_instance_count: 0\n")  # fmt: skip
    message = error_of(path)
    assert message.startswith(f"{path}, step 'deploy': EndpointConfig: initial_instance_count:")


def test_invalid_shared_value_names_the_step_it_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, "shared: {region: mars}\nconfigs:\n"
                 "  deploy: {config_type: EndpointConfig, endpoint_name: ep}\n")  # fmt: skip
    assert error_of(path).startswith(f"{path}, step 'deploy': EndpointConfig: region:")


def test_unknown_shared_field_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "shared: {regoin: us-east-1}\nconfigs: {}\n")
    message = error_of(path)
    assert message == (f"{path}: shared: regoin: unknown shared field (did you mean 'region'?)")


def test_relative_source_dir_missing_is_reported_with_the_step(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  m:\n    config_type: PackagingConfig\n"
                 "    source_dir: nowhere\n")  # fmt: skip
    message = error_of(path)
    assert message.startswith(f"{path}, step 'm': PackagingConfig:")
    assert f"source_dir {tmp_path / 'nowhere'} does not exist" in message


def test_undeclared_parameter_names_field_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "parameters: {Count: {type: Integer, default: 1}}\nconfigs:\n"
                 "  d:\n    config_type: EndpointConfig\n    endpoint_name: ep\n"
                 "    initial_instance_count: {Get: Parameters.Cont}\n")  # fmt: skip
    message = error_of(path)
    assert message.startswith(f"{path}, step 'd': EndpointConfig: initial_instance_count:")
    assert "parameter 'Cont' is not declared (did you mean 'Count'?)" in message


def test_step_references_are_not_allowed_in_config_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  d:\n    config_type: EndpointConfig\n"
                 "    endpoint_name: {Get: Steps.model.ModelName}\n")  # fmt: skip
    message = error_of(path)
    assert "endpoint_name" in message
    assert "can only read pipeline parameters" in message


def test_parameter_default_is_validated_as_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "parameters: {Count: {type: Integer, default: 0}}\nconfigs:\n"
                 "  d:\n    config_type: EndpointConfig\n    endpoint_name: ep\n"
                 "    initial_instance_count: {Get: Parameters.Count}\n")  # fmt: skip
    assert "initial_instance_count" in error_of(path)


def test_data_sources_are_written_relative_to_the_file(code: Path) -> None:
    from sagepipe.config import DataLoadingConfig, TrainingChannel

    project = code.parent
    (project / "data").mkdir()
    configs: dict[str, BasePipelineConfig] = {
        "load": DataLoadingConfig(**SHARED, source=str(project / "data")),
        "prep": ProcessingConfig(
            **SHARED,
            source_dir=str(code),
            processing_entry_point="preprocess.py",
            inputs=[ProcessingInput(name="raw", source=str(project / "data"))],
        ),
        "train": PyTorchTrainingConfig(
            **SHARED,
            source_dir=str(code),
            hyperparameters={"epochs": 2},
            channels=[
                TrainingChannel(name="train", source=str(project / "data")),
                TrainingChannel(name="remote", source="s3://bucket/validation/"),
                TrainingChannel(name="file", source="file:///srv/data"),
            ],
        ),
    }
    path = save_configs(configs, project / "conf" / "pipeline.yaml")
    written = yaml.safe_load(path.read_text())["configs"]
    assert written["load"]["source"] == "../data"
    assert written["prep"]["inputs"][0]["source"] == "../data"
    assert [c["source"] for c in written["train"]["channels"]] == [
        "../data",
        "s3://bucket/validation/",
        "file:///srv/data",
    ]
    moved = project.parent / "moved"
    shutil.copytree(project, moved)
    loaded = load_configs(moved / "conf" / "pipeline.yaml")
    assert loaded["train"].channels[0].source == str(moved / "data")  # type: ignore[attr-defined]
    assert loaded["load"].source == str(moved / "data")  # type: ignore[attr-defined]
