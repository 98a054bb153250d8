"""BasePipelineConfig: every default and every rule, both ways; readable errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sagepipe.config import BasePipelineConfig, ConfigValidationError, EndpointConfig
from sagepipe.config.base import INSTANCE_FAMILIES, check_instance_type
from sagepipe.errors import ConfigError


def test_defaults() -> None:
    config = BasePipelineConfig()
    assert config.model_dump() == {
        "pipeline_name": "sagepipe-pipeline",
        "pipeline_version": "1.0.0",
        "region": "us-east-1",
        "role": None,
        "bucket": None,
        "prefix": None,
        "framework_version": None,
        "py_version": None,
        "tags": {},
    }


def test_effective_prefix_defaults_to_the_pipeline_name() -> None:
    assert BasePipelineConfig(pipeline_name="churn").effective_prefix == "churn"
    assert BasePipelineConfig(pipeline_name="churn", prefix="p/q").effective_prefix == "p/q"


VALID: list[dict[str, Any]] = [
    {"pipeline_name": "a"},
    {"pipeline_name": "my-pipeline-2"},
    {"region": "eu-west-1"},
    {"region": "us-gov-west-1"},
    {"role": "arn:aws:iam::123456789012:role/SageMakerRole"},
    {"role": "arn:aws-cn:iam::123456789012:role/service-role/My.Role@x"},
    {"bucket": "my-bucket.data"},
    {"prefix": "team/project"},
    {"framework_version": "2.1"},
    {"framework_version": "1.13.1"},
    {"py_version": "py3"},
    {"py_version": "py310"},
    {"tags": {"team": "ml"}},
]


@pytest.mark.parametrize("fields", VALID, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
def test_valid_values(fields: dict[str, Any]) -> None:
    config = BasePipelineConfig(**fields)
    for name, value in fields.items():
        assert getattr(config, name) == value


INVALID: list[tuple[str, Any, str]] = [
    ("pipeline_name", "my pipeline", "pattern"),
    ("pipeline_name", "-leading", "pattern"),
    ("region", "us-east", "not an AWS region"),
    ("region", "US-EAST-1", "not an AWS region"),
    ("role", "SageMakerRole", "not an IAM role ARN"),
    ("role", "arn:aws:iam::12345:role/x", "not an IAM role ARN"),
    ("bucket", "My_Bucket", "not a valid S3 bucket name"),
    ("bucket", "ab", "not a valid S3 bucket name"),
    ("bucket", "a..b", "not a valid S3 bucket name"),
    ("framework_version", "latest", "not a framework version"),
    ("py_version", "3.10", "not a Python version"),
    ("tags", {"team": 1}, "valid string"),
    ("pipeline_version", 3, "valid string"),
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID)
def test_invalid_values_name_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        BasePipelineConfig(**{field: value})
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.config_type == "BasePipelineConfig"
    assert [path.split(".")[0] for path, _ in error.problems] == [field]
    assert message in str(error)
    assert str(error).startswith(f"BasePipelineConfig: {field}")


def test_unknown_field_suggests_the_closest_name() -> None:
    with pytest.raises(
        ConfigValidationError, match=r"regoin: unknown field \(did you mean 'region'\?\)"
    ):
        BasePipelineConfig(regoin="us-east-1")


def test_unknown_field_without_a_close_name_has_no_suggestion() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        BasePipelineConfig(zzzzzz=1)
    assert str(caught.value) == "BasePipelineConfig: zzzzzz: unknown field"


def test_missing_required_field_is_named() -> None:
    with pytest.raises(ConfigValidationError, match="endpoint_name: required field is missing"):
        EndpointConfig()


def test_several_problems_are_all_reported() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        BasePipelineConfig(region="nowhere", bucket="B")
    assert [path for path, _ in caught.value.problems] == ["region", "bucket"]


def test_configs_are_frozen() -> None:
    config = BasePipelineConfig()
    with pytest.raises(ValidationError):
        config.region = "eu-west-1"  # type: ignore[misc]


def test_located_error_names_file_and_step(tmp_path: Any) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        BasePipelineConfig(region="x")
    located = caught.value.located(tmp_path / "c.yaml", "train")
    assert str(located).startswith(
        f"{tmp_path / 'c.yaml'}, step 'train': BasePipelineConfig: region"
    )


def test_equality_and_hash() -> None:
    assert BasePipelineConfig(region="eu-west-1") == BasePipelineConfig(region="eu-west-1")
    assert BasePipelineConfig(region="eu-west-1") != BasePipelineConfig()
    assert hash(BasePipelineConfig()) == hash(BasePipelineConfig())


@pytest.mark.parametrize("family", sorted(INSTANCE_FAMILIES))
def test_every_known_instance_family_is_accepted(family: str) -> None:
    assert check_instance_type(f"ml.{family}.xlarge") == f"ml.{family}.xlarge"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("m5.xlarge", "ml.<family>.<size>"),
        ("ml.m5", "ml.<family>.<size>"),
        ("ml.q9.xlarge", "unknown instance family 'q9'"),
    ],
)
def test_instance_type_rules(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        check_instance_type(value)
