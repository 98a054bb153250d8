"""PyTorchModelConfig: exact defaults, every rule both ways, the container environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import ConfigValidationError, PyTorchModelConfig, PytorchModelCreationConfig

CODE = Path(__file__).parent.parent / "resources" / "code"


def make(**overrides: Any) -> PyTorchModelConfig:
    fields: dict[str, Any] = {
        "source_dir": str(CODE),
        "framework_version": "2.1.0",
        "py_version": "py310",
    }
    fields.update(overrides)
    return PyTorchModelConfig(**fields)


def test_defaults() -> None:
    config = make()
    assert config.inference_instance_type == "ml.m5.large"
    assert config.inference_entry_point == "inference.py"
    assert config.initial_instance_count == 1
    assert config.container_startup_health_check_timeout == 300
    assert config.container_memory_limit == 6144
    assert config.data_download_timeout == 900
    assert config.inference_memory_limit == 6144
    assert config.max_concurrent_invocations == 10
    assert config.max_payload_size == 6
    assert config.image_uri is None
    assert config.step_type == "PyTorchModelStep"


def test_seed_alias_and_usage_example() -> None:
    assert PytorchModelCreationConfig is PyTorchModelConfig
    config = PytorchModelCreationConfig(
        inference_instance_type="ml.m5.large",
        inference_entry_point="inference.py",
        source_dir="s3://my-bucket/inference-scripts/",
        framework_version="1.13.1",
        py_version="py39",
        container_memory_limit=8192,
        inference_memory_limit=6144,
        max_concurrent_invocations=5,
        max_payload_size=10,
    )
    assert config.container_memory_limit == 8192


def test_framework_and_python_versions_are_inherited_from_the_shared_fields() -> None:
    with pytest.raises(ConfigValidationError, match="framework_version and py_version"):
        PyTorchModelConfig(source_dir=str(CODE))
    with pytest.raises(ConfigValidationError, match="framework_version and py_version"):
        PyTorchModelConfig(source_dir=str(CODE), framework_version="2.1.0")


def test_source_dir_is_required() -> None:
    with pytest.raises(ConfigValidationError, match="source_dir: required field is missing"):
        PyTorchModelConfig(framework_version="2.1.0", py_version="py310")


VALID: list[dict[str, Any]] = [
    {"inference_instance_type": "ml.g5.xlarge"},
    {"inference_memory_limit": 1024, "container_memory_limit": 1024},
    {"container_startup_health_check_timeout": 900, "data_download_timeout": 900},
    {"max_payload_size": 1},
    {"max_payload_size": 100},
    {"initial_instance_count": 3, "max_concurrent_invocations": 1},
    {"source_dir": "s3://bucket/code/", "inference_entry_point": "serve.py"},
]


@pytest.mark.parametrize("overrides", VALID)
def test_valid_values(overrides: dict[str, Any]) -> None:
    config = make(**overrides)
    for name, value in overrides.items():
        assert getattr(config, name) == value


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"inference_entry_point": " "}, "inference_entry_point", "must be provided"),
    ({"inference_entry_point": "serve.py"}, "inference_entry_point", "is not a file in"),
    ({"inference_instance_type": "m5.large"}, "inference_instance_type", "must start with 'ml.'"),
    (
        {"inference_memory_limit": 8192},
        "inference_memory_limit",
        "exceeds container_memory_limit (6144 MB)",
    ),
    (
        {"container_startup_health_check_timeout": 901},
        "container_startup_health_check_timeout",
        "exceeds data_download_timeout (900 s)",
    ),
    ({"source_dir": "/no/such/dir"}, "source_dir", "does not exist"),
    ({"source_dir": ""}, "source_dir", "must be given"),
    ({"max_payload_size": 0}, "max_payload_size", "greater than or equal to 1"),
    ({"max_payload_size": 101}, "max_payload_size", "less than or equal to 100"),
    ({"initial_instance_count": 0}, "initial_instance_count", "greater than or equal to 1"),
    ({"container_memory_limit": 0}, "container_memory_limit", "greater than or equal to 1"),
    ({"data_download_timeout": -1}, "data_download_timeout", "greater than or equal to 1"),
    ({"max_concurrent_invocations": 0}, "max_concurrent_invocations", "greater than or equal"),
    ({"inference_memory_limt": 1}, "inference_memory_limt", "did you mean"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), INVALID)
def test_invalid_values_name_the_field(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make(**overrides)
    text = str(caught.value)
    assert field in text
    assert message in text


def test_container_environment_is_exact() -> None:
    config = make(
        region="eu-west-1",
        inference_entry_point="inference.py",
        container_startup_health_check_timeout=120,
        container_memory_limit=8192,
        data_download_timeout=600,
        inference_memory_limit=4096,
        max_concurrent_invocations=4,
        max_payload_size=20,
    )
    assert config.container_environment() == {
        "MMS_DEFAULT_RESPONSE_TIMEOUT": "120",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_MEMORY_LIMIT": "8192",
        "SAGEMAKER_MODEL_DATA_DOWNLOAD_TIMEOUT": "600",
        "SAGEMAKER_INFERENCE_MEMORY_LIMIT": "4096",
        "SAGEMAKER_MAX_CONCURRENT_INVOCATIONS": "4",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
        "AWS_REGION": "eu-west-1",
    }


def test_container_environment_with_defaults() -> None:
    environment = make().container_environment()
    assert environment["MMS_DEFAULT_RESPONSE_TIMEOUT"] == "300"
    assert environment["SAGEMAKER_MODEL_DATA_DOWNLOAD_TIMEOUT"] == "900"
    assert environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "6"
    assert environment["AWS_REGION"] == "us-east-1"
