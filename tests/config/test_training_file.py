"""Training configs in a config file: free-form or typed hyperparameters (decided by
``hyperparameters_type``, never by the keys), named channels; round trips and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import ConfigValidationError, ModelHyperparameters, PyTorchTrainingConfig
from sagepipe.config.files import load_configs, save_configs
from sagepipe.config.training import TrainingChannel
from sagepipe.errors import ConfigFileError
from sagepipe.expressions import ParameterInteger, ParameterString

TABULAR = {"id_name": "id", "label_name": "y", "full_field_list": ["id", "y", "x"]}


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('train')\n")
    return folder


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "parameters:\n"
        "  Epochs: {type: Integer, default: 3}\n"
        "configs:\n"
        "  train:\n"
        "    config_type: PyTorchTrainingConfig\n"
        "    source_dir: code\n"
        "    framework_version: '2.1.0'\n"
        "    py_version: py310\n" + body
    )
    return path


def test_a_mapping_without_hyperparameters_type_is_free_form(tmp_path: Path, code: Path) -> None:
    path = write(
        tmp_path,
        "    hyperparameters:\n"
        "      id_name: id\n"  # the typed keys do not make it typed
        "      lr: 0.01\n"
        "      layers: [64, 32]\n"
        "      epochs: {Get: Parameters.Epochs}\n",
    )
    config = load_configs(path)["train"]
    assert isinstance(config, PyTorchTrainingConfig)
    assert config.hyperparameters == {
        "id_name": "id",
        "lr": 0.01,
        "layers": [64, 32],
        "epochs": ParameterInteger("Epochs", 3),
    }
    assert config.hyperparameters_type is None


def test_hyperparameters_type_makes_it_typed(tmp_path: Path, code: Path) -> None:
    path = write(
        tmp_path,
        "    hyperparameters_type: ModelHyperparameters\n"
        "    hyperparameters:\n"
        "      id_name: id\n"
        "      label_name: y\n"
        "      full_field_list: [id, y, x]\n"
        "      epochs: {Get: Parameters.Epochs}\n",
    )
    config = load_configs(path)["train"]
    assert isinstance(config, PyTorchTrainingConfig)
    assert isinstance(config.hyperparameters, ModelHyperparameters)
    assert config.hyperparameters.model_fields_set == {*TABULAR, "epochs"}
    assert config.hyperparameters.parameter_bindings == {"epochs": ParameterInteger("Epochs", 3)}


def test_typed_errors_name_file_step_and_field(tmp_path: Path, code: Path) -> None:
    path = write(
        tmp_path,
        "    hyperparameters_type: ModelHyperparameters\n"
        "    hyperparameters: {id_name: id, label_name: y, full_field_list: [id, y], lr: 1}\n",
    )
    with pytest.raises(ConfigValidationError) as caught:
        load_configs(path)
    text = str(caught.value)
    assert text.startswith(f"{path}, step 'train': PyTorchTrainingConfig: ")
    assert "hyperparameters.ModelHyperparameters.lr: unknown field" in text


def test_free_form_errors_name_file_step_and_field(tmp_path: Path, code: Path) -> None:
    path = write(tmp_path, "    hyperparameters: {sagemaker_region: eu-west-1}\n")
    with pytest.raises(ConfigValidationError) as caught:
        load_configs(path)
    text = str(caught.value)
    assert text.startswith(f"{path}, step 'train': PyTorchTrainingConfig: hyperparameters")
    assert "'sagemaker_region': names starting with 'sagemaker_'" in text


def test_unknown_hyperparameters_type_names_the_known_one(tmp_path: Path, code: Path) -> None:
    path = write(tmp_path, "    hyperparameters_type: Tabular\n    hyperparameters: {a: 1}\n")
    with pytest.raises(ConfigValidationError, match="a file can name ModelHyperparameters"):
        load_configs(path)


def test_bad_channel_name_names_file_step_and_field(tmp_path: Path, code: Path) -> None:
    path = write(tmp_path, "    channels:\n      - name: train/x\n")
    with pytest.raises(ConfigValidationError) as caught:
        load_configs(path)
    assert str(caught.value).startswith(f"{path}, step 'train': PyTorchTrainingConfig: ")
    assert "channels.0.name: 'train/x' is not a valid channel name" in str(caught.value)


def test_channels_read_sources_relative_to_the_file(tmp_path: Path, code: Path) -> None:
    path = write(
        tmp_path,
        "    channels:\n"
        "      - name: train\n"
        "        source: data/train\n"
        "        content_type: text/csv\n"
        "      - name: validation\n",
    )
    config = load_configs(path)["train"]
    assert isinstance(config, PyTorchTrainingConfig)
    assert config.channels == [
        TrainingChannel(
            name="train", source=str(tmp_path / "data" / "train"), content_type="text/csv"
        ),
        TrainingChannel(name="validation"),
    ]


@pytest.mark.parametrize(
    "hyperparameters",
    [
        {"lr": 0.01, "epochs": ParameterInteger("Epochs", 3), "layers": [1, 2], "x": {"a": None}},
        ModelHyperparameters(**TABULAR, dropout=0.1, epochs=ParameterInteger("Epochs", 3)),
    ],
    ids=["free-form", "typed"],
)
def test_round_trip_keeps_the_kind_and_the_set_fields(
    tmp_path: Path, code: Path, hyperparameters: object
) -> None:
    config = PyTorchTrainingConfig(
        source_dir=str(code),
        framework_version="2.1.0",
        py_version="py310",
        hyperparameters=hyperparameters,
        channels=[
            TrainingChannel(name="train", source=ParameterString("Train", "s3://b/train/")),
            TrainingChannel(name="validation", source=str(tmp_path / "val"), input_mode="FastFile"),
        ],
    )
    path = save_configs({"train": config}, tmp_path / "out.yaml")
    back = load_configs(path)["train"]
    assert back == config
    assert back.ir_dump() == config.ir_dump()  # the same set fields reach the job
    text = path.read_text()
    typed = isinstance(hyperparameters, ModelHyperparameters)
    assert ("hyperparameters_type: ModelHyperparameters" in text) == typed
    if typed:
        assert "dropout: 0.1" in text  # set to its default value: still written, still passed


def test_a_subclass_cannot_be_saved_to_a_file(tmp_path: Path, code: Path) -> None:
    class Wider(ModelHyperparameters):
        width: int = 8

    config = PyTorchTrainingConfig(
        source_dir=str(code),
        framework_version="2.1.0",
        py_version="py310",
        hyperparameters=Wider(**TABULAR, width=16),
    )
    with pytest.raises(ConfigFileError, match="step 'train': hyperparameters of type Wider"):
        save_configs({"train": config}, tmp_path / "out.yaml")
    assert not (tmp_path / "out.yaml").exists()
