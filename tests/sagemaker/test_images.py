"""The PyTorch container image table."""

from __future__ import annotations

import pytest

from sagepipe.sagemaker.errors import ImageNotFoundError
from sagepipe.sagemaker.images import image_uri, processor_for, supported_versions


@pytest.mark.parametrize(
    ("scope", "region", "version", "py", "instance", "expected"),
    [
        (
            "training",
            "us-east-1",
            "2.1.0",
            "py310",
            "ml.m5.xlarge",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310",
        ),
        (
            "training",
            "eu-west-1",
            "2.3.0",
            "py311",
            "ml.g5.12xlarge",
            "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311",
        ),
        (
            "inference",
            "us-west-2",
            "1.13.1",
            "py39",
            "ml.p3.2xlarge",
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:1.13.1-gpu-py39",
        ),
        (
            "inference",
            "af-south-1",
            "2.0.1",
            "py310",
            "ml.c5.large",
            "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-inference:2.0.1-cpu-py310",
        ),
        (
            "training",
            "cn-north-1",
            "2.1.0",
            "py310",
            "ml.m5.xlarge",
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.1.0-cpu-py310",
        ),
        (
            "training",
            "us-east-1",
            "2.2",
            "py310",
            "ml.m5.xlarge",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.2.0-cpu-py310",
        ),
    ],
)
def test_known_images(
    scope: str, region: str, version: str, py: str, instance: str, expected: str
) -> None:
    assert image_uri(scope, region, version, py, instance) == expected  # type: ignore[arg-type]


def test_unknown_version_lists_the_supported_ones() -> None:
    with pytest.raises(ImageNotFoundError) as caught:
        image_uri("training", "us-east-1", "1.4.0", "py36", "ml.m5.xlarge")
    message = str(caught.value)
    assert "1.4.0" in message
    for listed in ("1.13.1 (py39)", "2.1.0 (py310)", "2.3.0 (py311)"):
        assert listed in message
    assert "image_uri" in message


def test_wrong_python_names_the_right_one() -> None:
    with pytest.raises(ImageNotFoundError, match="use py_version py311"):
        image_uri("inference", "us-east-1", "2.3.0", "py310", "ml.m5.xlarge")


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ImageNotFoundError, match="not published in region 'xx-east-9'"):
        image_uri("training", "xx-east-9", "2.1.0", "py310", "ml.m5.xlarge")


def test_processors() -> None:
    assert processor_for("ml.g5.xlarge") == "gpu"
    assert processor_for("ml.p4d.24xlarge") == "gpu"
    assert processor_for("ml.c5.xlarge") == "cpu"
    with pytest.raises(ImageNotFoundError, match="Neuron"):
        processor_for("ml.trn1.2xlarge")


def test_supported_versions_cover_both_scopes() -> None:
    assert "2.8.0 (py312)" in supported_versions("training")
    assert "2.6.0 (py312)" in supported_versions("inference")
