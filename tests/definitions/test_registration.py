"""The config-driven model registration pipeline (seed 002) and its shipped example."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import PackagingConfig, PayloadConfig, PyTorchModelConfig, RegistrationConfig
from sagepipe.config.files import load_configs, save_configs
from sagepipe.definitions import (
    BSMPytorchPipelineBuilder,
    ModelPathError,
    ModelRegistrationPipeline,
)
from sagepipe.errors import ConfigFileError

MODEL = "s3://my-bucket/models/model.tar.gz"


def test_shipped_example_builds_the_pipeline(registration_example: Path) -> None:
    builder = ModelRegistrationPipeline(registration_example)
    pipeline = builder.generate_pipeline(model_s3_path=MODEL)
    assert pipeline.name == "bsm-pytorch-registration"
    assert [s.name for s in pipeline.execution_order()] == [
        "Model",
        "Packaging",
        "Payload",
        "Registration_us-east-1",
    ]
    model = pipeline.step("Model")
    assert model.inputs["model_data"].value == MODEL
    assert model.inputs["model_data"].source == "explicit"
    edges = {(e.upstream, e.downstream): e.reason for e in pipeline.edges()}
    assert edges[("Model", "Packaging")].startswith("model_input: Model.model_artifacts")
    assert edges[("Packaging", "Payload")].startswith("model_input: Packaging.packaged_model")
    step = pipeline.step("Registration_us-east-1")
    assert step.config["region"] == "us-east-1"
    assert edges[("Packaging", step.name)].startswith("packaged_model: Packaging")
    assert edges[("Payload", step.name)].startswith("payload_sample: Payload")
    # Code paths are relative to the config file's directory.
    assert '"source_dir": "code"' in pipeline.to_json()


def test_seed_usage(registration_example: Path) -> None:
    builder = BSMPytorchPipelineBuilder(config_path=str(registration_example))
    pipeline = builder.generate_pipeline(model_s3_path=MODEL)
    assert len(pipeline.steps) == 4
    assert BSMPytorchPipelineBuilder is ModelRegistrationPipeline


def test_same_input_gives_the_same_ir(registration_example: Path) -> None:
    first = ModelRegistrationPipeline(registration_example).generate_pipeline(MODEL).to_json()
    again = ModelRegistrationPipeline(registration_example).generate_pipeline(MODEL).to_json()
    assert first == again


def test_one_region_still_names_the_step_by_region(registration_example: Path) -> None:
    configs = load_configs(registration_example)
    registration = configs["registration"]
    assert isinstance(registration, RegistrationConfig)
    configs["registration"] = RegistrationConfig(
        **{**registration.model_dump(), "regions": [], "region": "eu-west-1"}
    )
    path = save_configs(configs, registration_example.parent / "one-region.yaml")
    pipeline = ModelRegistrationPipeline(path).generate_pipeline(MODEL)
    assert [s.name for s in pipeline.steps][-1] == "Registration_eu-west-1"


def test_each_region_gets_its_registration_step(registration_example: Path) -> None:
    # (one pipeline per region on SageMaker; the builder still makes a step per region)
    configs = load_configs(registration_example)
    registration = configs["registration"]
    assert isinstance(registration, RegistrationConfig)
    configs["registration"] = RegistrationConfig(
        **{**registration.model_dump(), "regions": ["us-east-1", "us-west-2"]}
    )
    path = save_configs(configs, registration_example.parent / "two-regions.yaml")
    pipeline = ModelRegistrationPipeline(path).generate_pipeline(MODEL)
    steps = [s for s in pipeline.steps if s.name.startswith("Registration_")]
    assert [(s.name, s.config["region"]) for s in steps] == [
        ("Registration_us-east-1", "us-east-1"),
        ("Registration_us-west-2", "us-west-2"),
    ]


def test_a_local_model_file_is_used_as_an_absolute_path(
    registration_example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"not really")
    monkeypatch.chdir(tmp_path)
    pipeline = ModelRegistrationPipeline(registration_example).generate_pipeline("model.tar.gz")
    value = pipeline.step("Model").inputs["model_data"].value
    assert value == str((tmp_path / "model.tar.gz").resolve())


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("s3://bucket", "is not an S3 object URI"),
        ("s3://bucket/", "is not an S3 object URI"),
        ("s3://Bad_Bucket/model.tar.gz", "is not an S3 object URI"),
        ("https://bucket.s3.amazonaws.com/model.tar.gz", "is not an s3:// URI and not an existing"),
        ("/no/such/model.tar.gz", "is not an s3:// URI and not an existing local file"),
        ("", "must be a non-empty string"),
    ],
)
def test_bad_model_paths_are_rejected(registration_example: Path, path: str, message: str) -> None:
    builder = ModelRegistrationPipeline(registration_example)
    with pytest.raises(ModelPathError, match=message):
        builder.generate_pipeline(model_s3_path=path)


def test_a_directory_is_not_a_model_file(registration_example: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelPathError):
        ModelRegistrationPipeline(registration_example).generate_pipeline(str(tmp_path))


@pytest.mark.parametrize(
    "missing", [PyTorchModelConfig, PackagingConfig, PayloadConfig, RegistrationConfig]
)
def test_a_missing_config_type_is_named(registration_example: Path, missing: type) -> None:
    configs = {
        k: v for k, v in load_configs(registration_example).items() if type(v) is not missing
    }
    path = save_configs(configs, registration_example.parent / "partial.yaml")
    with pytest.raises(ConfigFileError) as caught:
        ModelRegistrationPipeline(path)
    message = str(caught.value)
    assert f"needs a {missing.__name__} and the file has none" in message
    assert f"config_type: {missing.__name__}" in message


def test_a_duplicated_config_type_is_an_error(registration_example: Path) -> None:
    configs = load_configs(registration_example)
    configs["payload2"] = configs["payload"]
    path = save_configs(configs, registration_example.parent / "dup.yaml")
    with pytest.raises(
        ConfigFileError, match="exactly one PayloadConfig, the file has 2 \\(payload, payload2\\)"
    ):
        ModelRegistrationPipeline(path)


def test_different_pipeline_names_are_an_error(registration_example: Path) -> None:
    configs = load_configs(registration_example)
    payload = configs["payload"]
    configs["payload"] = PayloadConfig(**{**payload.model_dump(), "pipeline_name": "other"})
    path = save_configs(configs, registration_example.parent / "names.yaml")
    with pytest.raises(ConfigFileError, match="the configs name different pipelines"):
        ModelRegistrationPipeline(path).generate_pipeline(MODEL)
