"""``get_execution_role``: an explicit role, the caller's role from STS (moto server), offline."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

import sagepipe
from sagepipe.execution_role import (
    LOCAL_EXECUTION_ROLE,
    ExecutionRoleError,
    get_execution_role,
    role_from_caller_arn,
)
from sagepipe.pytorch import get_execution_role as pytorch_get_execution_role

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_the_sdks_import_paths_name_the_same_function() -> None:
    assert sagepipe.get_execution_role is get_execution_role is pytorch_get_execution_role


def test_an_explicit_role_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEPIPE_EXECUTION_ROLE", ROLE)
    assert get_execution_role() == ROLE
    monkeypatch.setenv("SAGEPIPE_EXECUTION_ROLE", "SageMakerRole")
    with pytest.raises(ExecutionRoleError, match="'SageMakerRole' is not an IAM role ARN"):
        get_execution_role()


def test_without_credentials_the_local_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SAGEPIPE_EXECUTION_ROLE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert get_execution_role() == LOCAL_EXECUTION_ROLE
    assert LOCAL_EXECUTION_ROLE == "arn:aws:iam::000000000000:role/SagepipeLocalExecutionRole"


def test_an_assumed_role_is_the_execution_role(
    s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGEPIPE_EXECUTION_ROLE", raising=False)
    assumed = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="notebook")
    credentials = assumed["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    assert get_execution_role(session) == ROLE


def test_a_user_is_not_a_role(s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEPIPE_EXECUTION_ROLE", raising=False)
    caller = boto3.client("sts").get_caller_identity()["Arn"]
    assert ":user/" in caller
    with pytest.raises(ExecutionRoleError, match=r"is not a role: .* set SAGEPIPE_EXECUTION_ROLE"):
        get_execution_role()


def test_caller_arns() -> None:
    assert role_from_caller_arn(ROLE) == ROLE
    assert (
        role_from_caller_arn("arn:aws:sts::123456789012:assumed-role/SageMakerRole/SageMaker")
        == ROLE
    )
    assert (
        role_from_caller_arn("arn:aws-cn:sts::123456789012:assumed-role/R/s")
        == "arn:aws-cn:iam::123456789012:role/R"
    )
    with pytest.raises(ExecutionRoleError, match="not a role"):
        role_from_caller_arn("arn:aws:iam::123456789012:root")
