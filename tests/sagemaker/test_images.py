"""The PyTorch container image table and the URIs built from it.

The expected URIs below were produced by the SageMaker Python SDK's own
``image_uris.retrieve("pytorch", ...)`` (sagemaker 2.257.7, reading the table of
sagemaker-core 2.27.0 that the committed JSON was generated from), not derived by hand.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from sagepipe.sagemaker.errors import ImageNotFoundError
from sagepipe.sagemaker.images import image_table, image_uri, processor_for, supported_versions

_SDK_URIS: list[tuple[str, str, str, str | None, str, dict[str, Any] | None, str]] = [
    (
        "training", "us-east-1", "1.8.0", "py3", "ml.p3.2xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.8.0-gpu-py3",
    ),
    (
        "inference", "us-east-1", "1.8.0", "py3", "ml.m4.xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.8.0-cpu-py3",
    ),
    (
        "training", "us-west-2", "1.12.0", "py38", "ml.p4d.24xlarge", None,
        "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:1.12.0-gpu-py38",
    ),
    (
        "training", "us-east-1", "1.11.0", "py38", "ml.trn1.2xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training-neuron:"
        "1.11.0-neuron-py38-sdk2.4.0-ubuntu20.04",
    ),
    (  # the Neuron table has one version, which serves any requested version
        "training", "us-east-1", "1.13.1", "py38", "ml.trn1.32xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training-neuron:"
        "1.11.0-neuron-py38-sdk2.4.0-ubuntu20.04",
    ),
    (
        "training", "eu-west-1", "1.6.0", "py36", "ml.p4d.24xlarge", None,
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:"
        "1.6.0-gpu-py36-cu110-ubuntu18.04",
    ),
    (
        "training", "us-east-1", "1.6", "py3", "ml.p3.16xlarge",
        {"smdistributed": {"dataparallel": {"enabled": True}}},
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:"
        "1.6-gpu-py3-cu110-ubuntu18.04-v3",
    ),
    (
        "inference", "us-east-1", "1.0.0", "py2", "ml.c5.xlarge", None,
        "520713654638.dkr.ecr.us-east-1.amazonaws.com/sagemaker-pytorch:1.0.0-cpu-py2",
    ),
    (
        "inference", "ap-northeast-1", "0.4", "py3", "ml.g4dn.xlarge", None,
        "520713654638.dkr.ecr.ap-northeast-1.amazonaws.com/sagemaker-pytorch:0.4-gpu-py3",
    ),
    (  # an alias stays in the tag, as in the SDK
        "training", "us-east-1", "2.2", "py310", "ml.m5.xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.2-cpu-py310",
    ),
    (
        "inference", "cn-north-1", "1.13.1", "py39", "ml.c5.large", None,
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-inference:1.13.1-cpu-py39",
    ),
    (
        "training", "eusc-de-east-1", "2.10.0", "py313", "ml.g5.xlarge", None,
        "204133271717.dkr.ecr.eusc-de-east-1.amazonaws.eu/pytorch-training:2.10.0-gpu-py313",
    ),
    (
        "training", "us-east-1", "2.1.0", "py310", "local_gpu", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-gpu-py310",
    ),
    (  # a version with one Python tag may omit py_version
        "training", "us-east-1", "2.6.0", None, "ml.m5.xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312",
    ),
    (
        "training", "us-east-1", "1.12.1", "py38", "ml.p2.xlarge", None,
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.12.1-gpu-py38",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "region", "version", "py", "instance", "distribution", "expected"), _SDK_URIS
)
def test_uris_equal_the_sdks(
    scope: str,
    region: str,
    version: str,
    py: str | None,
    instance: str,
    distribution: dict[str, Any] | None,
    expected: str,
) -> None:
    got = image_uri(scope, region, version, py, instance, distribution=distribution)  # type: ignore[arg-type]
    assert got == expected


def test_the_table_names_its_source() -> None:
    source = image_table()["source"]
    assert source["file"].endswith("image_uri_config/pytorch.json")
    assert source["package"] and source["package_version"]
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])


def test_the_table_spans_the_sdks_versions() -> None:
    scopes = image_table()["scopes"]
    for scope in ("training", "inference"):
        versions = scopes[scope]["versions"]
        assert "0.4.0" in versions and "1.8.0" in versions and "2.6.0" in versions
        assert versions["0.4.0"]["repository"] == "sagemaker-pytorch"
        assert versions["2.0.1"]["repository"] == f"pytorch-{scope}"
    tags = {py for s in scopes.values() for c in s["versions"].values() for py in c["py_versions"]}
    assert {"py2", "py3", "py36", "py38", "py39", "py310", "py311", "py312"} <= tags


def test_every_version_resolves_in_every_region_for_its_processors_and_tags() -> None:
    table = image_table()
    checked = 0
    instances = {"cpu": "ml.m5.xlarge", "gpu": "ml.g5.xlarge"}
    for scope, spec in table["scopes"].items():
        aliases = {target: alias for alias, target in spec["version_aliases"].items()}
        for version, config in spec["versions"].items():
            regions = table["registries"][config["registries"]]
            for region, account in regions.items():
                for processor in spec["processors"]:
                    for py in config["py_versions"]:
                        uri = image_uri(scope, region, version, py, instances[processor])
                        host = table["hostnames"][region]
                        assert uri == (
                            f"{account}.dkr.{host}/{config['repository']}:"
                            f"{version}-{processor}-{py}"
                        )
                        checked += 1
            if version in aliases:
                py = config["py_versions"][0]
                uri = image_uri(scope, "us-east-1", aliases[version], py, "ml.m5.xlarge")
                assert f":{aliases[version]}-cpu-{py}" in uri
    assert checked > 3000


@pytest.mark.parametrize(
    ("version", "py", "instance"),
    [("1.8.0", "py3", "ml.p3.2xlarge"), ("1.11.0", "py38", "ml.g5.xlarge"),
     ("1.12.0", "py38", "ml.p4d.24xlarge"), ("1.11.0", "py38", "ml.trn1.32xlarge")],
)  # fmt: skip
def test_seed_003_versions_resolve(version: str, py: str, instance: str) -> None:
    assert f":{version}-" in image_uri("training", "us-east-1", version, py, instance)


def test_an_unknown_version_lists_every_version_compactly_without_guessing() -> None:
    with pytest.raises(ImageNotFoundError) as caught:
        image_uri("training", "us-east-1", "1.8.2", "py3", "ml.m5.xlarge")
    message = str(caught.value)
    assert "'1.8.2'" in message and "exactly" in message
    assert "0.4.0, 1.0.0, 1.1.0, 1.2.0, 1.3.1 (py2, py3); 1.4.0 (py2, py3, py36)" in message
    assert "1.9.0, 1.9.1, 1.10.0, 1.10.2, 1.11.0, 1.12.0, 1.12.1 (py38)" in message
    assert "2.10.0 (py313)" in message
    assert "the aliases 0.4, 1.0, 1.1," in message and "image_uri" in message
    assert "\n" not in message


def test_the_sdks_refusals_are_refusals_here() -> None:
    # The SDK's table has only py39 for 1.13.1 (seed 003's py38 fails with the SDK too).
    with pytest.raises(
        ImageNotFoundError,
        match=r"1\.13\.1 training image has no Python 'py38'; use py_version py39",
    ):
        image_uri("training", "us-east-1", "1.13.1", "py38", "ml.p4d.24xlarge")
    with pytest.raises(ImageNotFoundError, match="P2 instances"):
        image_uri("training", "us-east-1", "1.13.1", "py39", "ml.p2.xlarge")
    with pytest.raises(ImageNotFoundError, match="has no py_version; use py_version py2 or py3"):
        image_uri("training", "us-east-1", "1.0.0", None, "ml.m5.xlarge")


def test_unknown_region_is_an_error() -> None:
    with pytest.raises(ImageNotFoundError, match="not published in region 'xx-east-9'"):
        image_uri("training", "xx-east-9", "2.1.0", "py310", "ml.m5.xlarge")


def test_images_the_table_lacks_are_refused_naming_image_uri() -> None:
    with pytest.raises(ImageNotFoundError, match=r"Graviton.*image_uri"):
        image_uri("inference", "us-east-1", "2.1.0", "py310", "ml.c6g.xlarge")
    with pytest.raises(ImageNotFoundError, match=r"Neuron inference image.*image_uri"):
        image_uri("inference", "us-east-1", "2.1.0", "py310", "ml.inf2.xlarge")
    with pytest.raises(ImageNotFoundError, match="invalid SageMaker instance type 'm5'"):
        image_uri("training", "us-east-1", "2.1.0", "py310", "m5")


def test_processors() -> None:
    assert processor_for("ml.g5.xlarge") == "gpu"
    assert processor_for("ml.p4d.24xlarge") == "gpu"
    assert processor_for("ml.c5.xlarge") == "cpu"
    assert processor_for("ml.trn1.2xlarge") == "trn"
    assert processor_for("local") == "cpu"
    assert processor_for("local_gpu") == "gpu"


def test_supported_versions_cover_both_scopes() -> None:
    assert "2.6.0, 2.7.1, 2.8.0, 2.9.0 (py312)" in supported_versions("training")
    assert "2.6.0 (py312)" in supported_versions("inference")
