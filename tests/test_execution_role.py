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
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        # Container and web-identity credentials (ECS, CodeBuild, EKS, OIDC CI runners).
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
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


def _assumed_session(role: str) -> boto3.Session:
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="studio")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def test_an_assumed_roles_path_comes_from_iam(
    s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    monkeypatch.delenv("SAGEPIPE_EXECUTION_ROLE", raising=False)
    name = f"Team-{uuid.uuid4().hex[:8]}"
    created = boto3.client("iam").create_role(
        RoleName=name, Path="/ml/teams/", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    assert created.endswith(f":role/ml/teams/{name}")
    session = _assumed_session(created)
    assert get_execution_role(session) == created

    # The SageMaker SDK's Session carries its boto3 session.
    class SdkSession:
        boto_session = session

    assert get_execution_role(SdkSession()) == created


def test_a_console_role_iam_cannot_describe_is_under_service_role(
    s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGEPIPE_EXECUTION_ROLE", raising=False)
    # Neither role exists in IAM (GetRole fails, as where it is denied): the console's naming
    # says where its roles live; any other role keeps the path-less ARN.
    console = "arn:aws:iam::123456789012:role/AmazonSageMaker-ExecutionRole-20240101T000000"
    assert get_execution_role(_assumed_session(console)) == (
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20240101T000000"
    )
    other = "arn:aws:iam::123456789012:role/NotInIam"
    assert get_execution_role(_assumed_session(other)) == other
