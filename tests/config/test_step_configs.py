"""Packaging, payload, registration, batch transform and endpoint configs: defaults and rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    ConfigValidationError,
    EndpointConfig,
    ModelHyperparameters,
    PackagingConfig,
    PayloadConfig,
    RegistrationConfig,
)
from sagepipe.config.base import BasePipelineConfig

CODE = Path(__file__).parent.parent / "resources" / "code"
HYPERPARAMETERS = ModelHyperparameters(
    id_name="id", label_name="y", full_field_list=["id", "y", "a", "b"],
    tab_field_list=["a"], cat_field_list=["b"],
)  # fmt: skip

MINIMAL: dict[type[BasePipelineConfig], dict[str, Any]] = {
    PackagingConfig: {"source_dir": str(CODE)},
    PayloadConfig: {},
    RegistrationConfig: {"model_package_group_name": "group"},
    BatchTransformConfig: {},
    EndpointConfig: {"endpoint_name": "endpoint"},
}

DEFAULTS: dict[type[BasePipelineConfig], dict[str, Any]] = {
    PackagingConfig: {
        "inference_entry_point": "inference.py",
        "dependencies": [],
        "compression_level": 6,
        "processing_instance_type": "ml.m5.large",
        "image_uri": None,
    },
    PayloadConfig: {
        "content_types": ["text/csv", "application/json"],
        "default_numeric_value": 0.0,
        "default_text_value": "DEFAULT_TEXT",
        "field_defaults": {},
        "sample_count": 1,
        "hyperparameters": None,
        "samples": [],
        "processing_instance_type": "ml.m5.large",
        "image_uri": None,
    },
    RegistrationConfig: {
        "approval_status": "PendingManualApproval",
        "regions": [],
        "domain": "MACHINE_LEARNING",
        "task": "CLASSIFICATION",
        "framework": "PYTORCH",
        "model_description": "",
        "customer_metadata": {},
        "content_types": ["text/csv", "application/json"],
        "response_types": ["application/json"],
        "inference_instance_types": ["ml.m5.large"],
        "transform_instance_types": ["ml.m5.large"],
        "skip_smoke_test": False,
        "image_uri": None,
    },
    BatchTransformConfig: {
        "transform_instance_type": "ml.m5.large",
        "transform_instance_count": 1,
        "content_type": "text/csv",
        "accept": "text/csv",
        "split_type": "Line",
        "batch_strategy": "MultiRecord",
        "max_payload_mb": 6,
        "max_concurrent_transforms": 1,
        "assemble_with": "Line",
        "join_source": "None",
        "output_path": None,
    },
    EndpointConfig: {"instance_type": "ml.m5.large", "initial_instance_count": 1},
}


@pytest.mark.parametrize("cls", list(DEFAULTS), ids=lambda c: c.__name__)
def test_defaults(cls: type[BasePipelineConfig]) -> None:
    config = cls(**MINIMAL[cls])
    for name, value in DEFAULTS[cls].items():
        assert getattr(config, name) == value, name
    assert set(DEFAULTS[cls]) | set(MINIMAL[cls]) == set(cls.model_fields) - set(
        BasePipelineConfig.model_fields
    )


@pytest.mark.parametrize("cls", [RegistrationConfig, EndpointConfig], ids=lambda c: c.__name__)
def test_required_fields(cls: type[BasePipelineConfig]) -> None:
    (field,) = MINIMAL[cls]
    with pytest.raises(ConfigValidationError, match=f"{field}: required field is missing"):
        cls()


def test_registration_effective_regions() -> None:
    config = RegistrationConfig(model_package_group_name="g", region="eu-west-1")
    assert config.effective_regions == ["eu-west-1"]
    config = RegistrationConfig(model_package_group_name="g", regions=["us-east-1", "us-west-2"])
    assert config.effective_regions == ["us-east-1", "us-west-2"]


def test_packaging_resolves_relative_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CODE.parent)
    config = PackagingConfig(source_dir="code", dependencies=["code/train.py", "code"])
    assert config.dependencies == [str((CODE / "train.py").resolve()), str(CODE.resolve())]


VALID: list[tuple[type[BasePipelineConfig], dict[str, Any]]] = [
    (PackagingConfig, {"compression_level": 1, "dependencies": [str(CODE / "train.py")]}),
    (PackagingConfig, {"compression_level": 9}),
    (PayloadConfig, {"content_types": ["application/json"], "sample_count": 10000}),
    (PayloadConfig, {"hyperparameters": HYPERPARAMETERS, "field_defaults": {"a": 1.5, "b": "x"}}),
    (PayloadConfig, {"field_defaults": {"anything": "goes without hyperparameters"}}),
    (RegistrationConfig, {"approval_status": "Approved", "regions": ["us-east-1", "eu-west-1"]}),
    (RegistrationConfig, {"task": "REGRESSION", "model_description": "x" * 1024}),
    (RegistrationConfig, {"content_types": ["application/x-npy"], "response_types": ["text/csv"]}),
    (BatchTransformConfig, {"join_source": "Input", "accept": "application/json"}),
    (BatchTransformConfig, {"split_type": "None", "batch_strategy": "SingleRecord"}),
    (BatchTransformConfig, {"max_payload_mb": 0, "output_path": "s3://b/out"}),
    (BatchTransformConfig, {"max_payload_mb": 100, "assemble_with": "None"}),
    (EndpointConfig, {"instance_type": "ml.g5.xlarge", "initial_instance_count": 2}),
]


@pytest.mark.parametrize(("cls", "overrides"), VALID, ids=lambda v: getattr(v, "__name__", ""))
def test_valid_values(cls: type[BasePipelineConfig], overrides: dict[str, Any]) -> None:
    config = cls(**{**MINIMAL[cls], **overrides})
    for name, value in overrides.items():
        assert getattr(config, name) == value


INVALID: list[tuple[type[BasePipelineConfig], dict[str, Any], str, str]] = [
    (PackagingConfig, {"source_dir": "s3://b/code"}, "source_dir", "needs a local source_dir"),
    (PackagingConfig, {"source_dir": "/no/such"}, "source_dir", "does not exist"),
    (PackagingConfig, {"inference_entry_point": "x.py"}, "inference_entry_point", "not a file"),
    (PackagingConfig, {"inference_entry_point": ""}, "inference_entry_point", "at least 1"),
    (PackagingConfig, {"dependencies": ["/no/such/lib"]}, "dependencies", "do not exist"),
    (PackagingConfig, {"compression_level": 0}, "compression_level", "greater than or equal"),
    (PackagingConfig, {"compression_level": 10}, "compression_level", "less than or equal"),
    (PackagingConfig, {"processing_instance_type": "m5"}, "processing_instance_type", "ml."),
    (PayloadConfig, {"content_types": []}, "content_types", "is empty"),
    (PayloadConfig, {"content_types": ["text/xml"]}, "content_types", "not supported"),
    (PayloadConfig, {"content_types": ["text/csv", "text/csv"]}, "content_types", "repeat"),
    (PayloadConfig, {"sample_count": 0}, "sample_count", "greater than or equal"),
    (PayloadConfig, {"sample_count": 10001}, "sample_count", "less than or equal"),
    (
        PayloadConfig,
        {"hyperparameters": HYPERPARAMETERS, "field_defaults": {"y": 1}},
        "field_defaults",
        "not features: ['y']",
    ),
    (PayloadConfig, {"field_defaults": {"a": [1]}}, "field_defaults", "valid"),
    (
        RegistrationConfig,
        {"model_package_group_name": "bad_name"},
        "model_package_group_name",
        "not a model",
    ),
    (RegistrationConfig, {"approval_status": "Pending"}, "approval_status", "PendingManual"),
    (RegistrationConfig, {"regions": ["mars-1"]}, "regions.0", "not an AWS region"),
    (RegistrationConfig, {"regions": ["us-east-1", "us-east-1"]}, "regions", "repeat"),
    (RegistrationConfig, {"task": "SORTING"}, "task", "CLASSIFICATION"),
    (RegistrationConfig, {"content_types": []}, "content_types", "at least one MIME type"),
    (RegistrationConfig, {"response_types": ["json"]}, "response_types", "not MIME types"),
    (RegistrationConfig, {"content_types": ["text/csv"] * 2}, "content_types", "repeats"),
    (RegistrationConfig, {"inference_instance_types": ["m5"]}, "inference_instance_types", "ml."),
    (RegistrationConfig, {"transform_instance_types": ["c5"]}, "transform_instance_types", "ml."),
    (RegistrationConfig, {"model_description": "x" * 1025}, "model_description", "at most 1024"),
    (BatchTransformConfig, {"split_type": "RecordIO"}, "split_type", "'Line' or 'None'"),
    (BatchTransformConfig, {"batch_strategy": "Many"}, "batch_strategy", "MultiRecord"),
    (BatchTransformConfig, {"assemble_with": "Json"}, "assemble_with", "'Line' or 'None'"),
    (BatchTransformConfig, {"join_source": "Output"}, "join_source", "'Input' or 'None'"),
    (BatchTransformConfig, {"max_payload_mb": 101}, "max_payload_mb", "less than or equal"),
    (BatchTransformConfig, {"max_payload_mb": -1}, "max_payload_mb", "greater than or equal"),
    (
        BatchTransformConfig,
        {"transform_instance_count": 0},
        "transform_instance_count",
        "greater than",
    ),
    (
        BatchTransformConfig,
        {"max_concurrent_transforms": 0},
        "max_concurrent_transforms",
        "greater than",
    ),
    (BatchTransformConfig, {"output_path": "/tmp/out"}, "output_path", "not an s3:// URI"),
    (
        BatchTransformConfig,
        {"join_source": "Input", "content_type": "application/x-npy"},
        "join_source",
        "content_type and accept",
    ),
    (
        BatchTransformConfig,
        {"join_source": "Input", "assemble_with": "None"},
        "join_source",
        "assemble_with Line",
    ),
    (
        BatchTransformConfig,
        {"split_type": "None"},
        "batch_strategy",
        "needs split_type Line",
    ),
    (EndpointConfig, {"endpoint_name": "my_endpoint"}, "endpoint_name", "not an endpoint name"),
    (EndpointConfig, {"endpoint_name": "x" * 64}, "endpoint_name", "not an endpoint name"),
    (EndpointConfig, {"instance_type": "ml.zz.large"}, "instance_type", "unknown instance"),
    (EndpointConfig, {"initial_instance_count": 0}, "initial_instance_count", "greater than"),
]


@pytest.mark.parametrize(
    ("cls", "overrides", "field", "message"), INVALID, ids=lambda v: getattr(v, "__name__", None)
)
def test_invalid_values_name_the_field(
    cls: type[BasePipelineConfig], overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        cls(**{**MINIMAL[cls], **overrides})
    text = str(caught.value)
    assert text.startswith(f"{cls.__name__}: ")
    assert field in text
    assert message in text
