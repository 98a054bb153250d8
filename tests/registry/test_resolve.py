"""Resolving a model package ARN to its model data (what ``sagepipe serve ARN`` serves)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.registry import (
    InvalidArnError,
    LocalRegistry,
    ModelPackageNotFoundError,
    is_model_package_arn,
    register_model_version,
    resolve_model_package,
)


def test_resolves_each_version_to_its_model_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGEPIPE_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path))
    registry = LocalRegistry()
    arns = [
        register_model_version(
            registry,
            group="models",
            region="eu-west-1",
            model_data_uri=f"s3://bucket/v{n}/model.tar.gz",
            image_uri="image",
        ).model_package_arn
        for n in (1, 2)
    ]

    assert resolve_model_package(arns[1]) == "s3://bucket/v2/model.tar.gz"
    assert resolve_model_package(arns[0], registry) == "s3://bucket/v1/model.tar.gz"
    with pytest.raises(ModelPackageNotFoundError, match="sagepipe registry versions models"):
        resolve_model_package(arns[0].replace("/1", "/3"))
    with pytest.raises(InvalidArnError):
        resolve_model_package("arn:aws:sagemaker:eu-west-1:000000000000:model-package/models/x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:sagemaker:us-east-1:000000000000:model-package/g/1", True),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g/2", True),
        ("arn:aws:sagemaker:us-east-1:000000000000:model/my-model", False),
        ("s3://bucket/model.tar.gz", False),
        ("/tmp/arn:aws:sagemaker/model-package/model.tar.gz", False),
    ],
)
def test_tells_arns_from_paths(text: str, expected: bool) -> None:
    assert is_model_package_arn(text) is expected
