"""ProcessingConfig, ProcessingInput, ProcessingOutput: defaults and rules, both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import (
    ConfigValidationError,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
)

CODE = Path(__file__).parent.parent / "resources" / "code"


def make(**overrides: Any) -> ProcessingConfig:
    fields: dict[str, Any] = {"processing_entry_point": "preprocess.py", "source_dir": str(CODE)}
    fields.update(overrides)
    return ProcessingConfig(**fields)


def test_defaults() -> None:
    config = make()
    assert config.arguments == []
    assert config.processing_instance_type == "ml.m5.xlarge"
    assert config.processing_instance_count == 1
    assert config.processing_volume_size == 30
    assert config.max_runtime_seconds == 86400
    assert config.inputs == []
    assert config.outputs == []
    assert config.env == {}
    assert config.image_uri is None
    assert config.step_type == "ProcessingStep"


def test_input_and_output_defaults() -> None:
    item = ProcessingInput(name="raw")
    assert (item.source, item.destination) == (None, None)
    assert item.container_path == "/opt/ml/processing/input/raw"
    output = ProcessingOutput(name="out")
    assert (output.source, output.destination, output.output_type) == (
        None,
        None,
        "processing_output",
    )
    assert output.container_path == "/opt/ml/processing/output/out"
    assert ProcessingInput(name="a", destination="/opt/ml/processing/x").container_path == (
        "/opt/ml/processing/x"
    )


@pytest.mark.parametrize("field", ["processing_entry_point", "source_dir"])
def test_required_fields(field: str) -> None:
    fields = {"processing_entry_point": "preprocess.py", "source_dir": str(CODE)}
    del fields[field]
    with pytest.raises(ConfigValidationError, match=f"{field}: required field is missing"):
        ProcessingConfig(**fields)


VALID: list[dict[str, Any]] = [
    {"arguments": ["--ratio", "0.7"]},
    {"processing_instance_type": "ml.c5.2xlarge", "processing_instance_count": 2},
    {"inputs": [ProcessingInput(name="a"), ProcessingInput(name="b", source="s3://b/k")]},
    {"outputs": [ProcessingOutput(name="a"), ProcessingOutput(name="b", output_type="x")]},
    {"inputs": [{"name": "a"}], "outputs": [{"name": "a"}]},
    {"env": {"MODE": "fast"}},
    {"source_dir": "s3://bucket/code/", "processing_entry_point": "other.py"},
]


@pytest.mark.parametrize("overrides", VALID)
def test_valid_values(overrides: dict[str, Any]) -> None:
    make(**overrides)


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"processing_entry_point": ""}, "processing_entry_point", "at least 1 character"),
    ({"processing_entry_point": "nope.py"}, "processing_entry_point", "is not a file in"),
    ({"source_dir": "/no/such/dir"}, "source_dir", "does not exist"),
    ({"processing_instance_type": "ml.m5"}, "processing_instance_type", "ml.<family>.<size>"),
    ({"processing_instance_count": 0}, "processing_instance_count", "greater than or equal"),
    ({"processing_volume_size": 0}, "processing_volume_size", "greater than or equal"),
    ({"max_runtime_seconds": 0}, "max_runtime_seconds", "greater than or equal"),
    ({"arguments": [1]}, "arguments", "valid string"),
    ({"inputs": [{"name": "a"}, {"name": "a"}]}, "inputs", "repeat the names ['a']"),
    ({"outputs": [{"name": "o"}, {"name": "o"}]}, "outputs", "repeat the names ['o']"),
    ({"inputs": [{"name": "bad name"}]}, "inputs.0.name", "not a valid name"),
    ({"outputs": [{"name": "x/y"}]}, "outputs.0.name", "not a valid name"),
    ({"inputs": [{"name": "a", "destination": "/data"}]}, "inputs", "must be under"),
    ({"outputs": [{"name": "a", "source": "/opt/ml/model"}]}, "outputs", "must be under"),
    (
        {
            "inputs": [
                {"name": "a", "destination": "/opt/ml/processing/x"},
                {"name": "b", "destination": "/opt/ml/processing/x"},
            ]
        },
        "inputs",
        "use the same container path twice",
    ),
    ({"inputs": [{"name": "a", "sorce": "s3://b/k"}]}, "inputs.0.sorce", "did you mean 'source'"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), INVALID)
def test_invalid_values_name_the_field(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make(**overrides)
    text = str(caught.value)
    assert field in text
    assert message in text


def test_relative_input_source_is_resolved_against_the_config_files_directory() -> None:
    # As source_dir is: compile and the local engine then read the same directory wherever
    # they run from (the engine used to read a relative path from its working directory).
    config = ProcessingConfig.model_validate(
        {
            "processing_entry_point": "preprocess.py",
            "source_dir": "code",
            "inputs": [{"name": "raw", "source": "code"}],
        },
        context={"base_dir": str(CODE.parent)},
    )
    assert config.inputs[0].source == str(CODE.resolve())


def test_relative_input_source_is_resolved_against_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CODE.parent)
    assert ProcessingInput(name="raw", source="code").source == str(CODE.resolve())


@pytest.mark.parametrize("uri", ["s3://bucket/raw/", "file:///data/raw"])
def test_input_source_uris_are_kept(uri: str) -> None:
    assert ProcessingInput(name="raw", source=uri).source == uri


def test_output_source_is_a_container_path_and_is_kept() -> None:
    assert ProcessingOutput(name="out", source="relative/dir").source == "relative/dir"
