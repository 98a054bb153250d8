"""Every image of the SDK's PyTorch table has a local runtime; other images are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.images import image_table, image_uri
from sagepipe.local.calls.images import (
    LocalRuntime,
    framework_version_warning,
    local_runtime,
    unsupported_image,
)

_INSTANCES = {"cpu": "ml.m5.xlarge", "gpu": "ml.g5.xlarge", "trn": "ml.trn1.2xlarge"}


def _every_image() -> list[tuple[str, str, str, str, str]]:
    """(uri, scope, version, processor, py) of every version/tag/processor in one region."""
    table = image_table()
    images = []
    for tables in (table["scopes"], table["neuron"]):
        for scope, spec in tables.items():
            for version, config in spec["versions"].items():
                for processor in spec["processors"]:
                    for py in config["py_versions"]:
                        uri = image_uri(scope, "us-east-1", version, py, _INSTANCES[processor])
                        images.append((uri, scope, version, processor, py))
    return images


def test_every_table_image_has_a_runtime_of_its_kind() -> None:
    images = _every_image()
    assert len(images) > 100
    repositories = set()
    for uri, scope, version, processor, py in images:
        runtime = local_runtime(uri)
        assert runtime is not None, uri
        assert (runtime.framework_version, runtime.processor, runtime.py_version) == (
            version,
            processor,
            py,
        )
        repository = uri.split("/")[1].split(":")[0]
        repositories.add(repository)
        expected = "pytorch" if repository == "sagemaker-pytorch" else f"pytorch-{scope}"
        assert runtime.kind == expected, uri
        assert unsupported_image("image", uri) is None
    assert repositories == {
        "sagemaker-pytorch",
        "pytorch-training",
        "pytorch-inference",
        "pytorch-training-neuron",
    }


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-team/trainer:7",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:latest",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.13.0-cpu-py310",
        "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime",
    ],
)
def test_other_images_are_refused_naming_them(image: str) -> None:
    assert local_runtime(image) is None
    reason = unsupported_image("TrainingImage", image)
    assert reason is not None and image in reason and "SageMaker only" in reason


def test_a_python_2_image_warns_that_scripts_run_on_python_3(tmp_path: Path) -> None:
    uri = "520713654638.dkr.ecr.us-east-1.amazonaws.com/sagemaker-pytorch:1.0.0-cpu-py2"
    runtime = local_runtime(uri)
    assert isinstance(runtime, LocalRuntime)
    warning = framework_version_warning(runtime, tmp_path)
    assert warning is not None
    assert "PyTorch 1.0.0; it runs Python 2 scripts, this runtime Python 3" in warning
    assert framework_version_warning(runtime, tmp_path) is None  # given once per run
