"""``image_uri`` of step configs in compiled definitions, and versions it makes optional."""

from __future__ import annotations

from typing import Any

import pytest

from sagepipe.config import PyTorchModelConfig, PyTorchTrainingConfig
from sagepipe.config.messages import ConfigValidationError
from sagepipe.sagemaker import compile_pipeline

from .conftest import step_named
from .resources.pipelines import CODE, SHARED, full_pipeline, training_pipeline

MINE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:{}"
IMAGES = {
    name: MINE.format(name)
    for name in ("preprocess", "train", "model", "packaging", "payload", "registration")
}


def _image(arguments: Any) -> str:
    for path in (
        ("AlgorithmSpecification", "TrainingImage"),
        ("AppSpecification", "ImageUri"),
        ("PrimaryContainer", "Image"),
        ("InferenceSpecification", "Containers"),
    ):
        if path[0] == "InferenceSpecification" and path[0] in arguments:
            return str(arguments[path[0]][path[1]][0]["Image"])
        if path[0] in arguments:
            return str(arguments[path[0]][path[1]])
    raise AssertionError(f"no image in {sorted(arguments)}")


def test_every_image_uri_is_the_compiled_image() -> None:
    compiled = compile_pipeline(full_pipeline(images=IMAGES))
    for name, image in IMAGES.items():
        assert _image(step_named(compiled, name)["Arguments"]) == image, name


def test_without_image_uri_the_table_chooses() -> None:
    compiled = compile_pipeline(full_pipeline())
    for name in IMAGES:
        image = _image(step_named(compiled, name)["Arguments"])
        assert image.startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-"), name


def test_image_uri_makes_the_versions_optional() -> None:
    shared = {k: v for k, v in SHARED.items() if k not in ("framework_version", "py_version")}
    pipeline = training_pipeline(
        framework_version=None, py_version=None, image_uri=MINE.format("train")
    )
    arguments = compile_pipeline(pipeline).definition["Steps"][0]["Arguments"]  # type: ignore[index]
    assert arguments["AlgorithmSpecification"]["TrainingImage"] == MINE.format("train")
    model = PyTorchModelConfig(**shared, source_dir=str(CODE), image_uri=MINE.format("model"))
    assert model.framework_version is None
    with pytest.raises(ConfigValidationError, match="unless image_uri names the image"):
        PyTorchTrainingConfig(**shared, source_dir=str(CODE))
    with pytest.raises(ConfigValidationError, match="unless image_uri names the image"):
        PyTorchModelConfig(**shared, source_dir=str(CODE))


def test_old_versions_and_python_tags_compile() -> None:
    pipeline = training_pipeline(
        framework_version="1.8.0", py_version="py3", instance_type="ml.p3.2xlarge"
    )
    arguments = compile_pipeline(pipeline).definition["Steps"][0]["Arguments"]  # type: ignore[index]
    assert arguments["AlgorithmSpecification"]["TrainingImage"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.8.0-gpu-py3"
    )


def test_sagepipes_scripts_keep_their_image_whatever_the_shared_versions() -> None:
    # Seed 003's versions for the user's steps; packaging and payload run sagepipe's scripts,
    # which need Python 3.9+ (1.8.0's image has Python 3.6).
    compiled = compile_pipeline(full_pipeline(framework_version="1.12.0", py_version="py38"))
    train = _image(step_named(compiled, "train")["Arguments"])
    assert train.endswith("pytorch-training:1.12.0-cpu-py38"), train
    for name in ("packaging", "payload"):
        image = _image(step_named(compiled, name)["Arguments"])
        assert image.endswith("pytorch-training:2.1.0-cpu-py310"), (name, image)
