"""``sagepipe registry ...`` through the real entry point, on a local registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.registry import LocalRegistry, register_model_version

ARN_1 = "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn-models/1"


def _sagepipe(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAGEPIPE_HOME": str(home)}
    env.pop("SAGEPIPE_ACCOUNT_ID", None)
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SAGEPIPE_ACCOUNT_ID", raising=False)
    home = tmp_path / "home"
    registry = LocalRegistry(home / "registry.db")
    for _ in range(2):
        register_model_version(
            registry,
            group="churn-models",
            region="us-east-1",
            model_data_uri="s3://bucket/model.tar.gz",
            image_uri="image",
            metrics={"f1": 0.9},
        )
    return home


def test_groups_and_versions(home: Path) -> None:
    groups = _sagepipe("registry", "groups", home=home)
    versions = _sagepipe("registry", "versions", "churn-models", home=home)

    assert groups.returncode == 0, groups.stderr
    assert "churn-models  us-east-1  arn:aws:sagemaker:us-east-1:000000000000:" in groups.stdout
    assert versions.returncode == 0, versions.stderr
    lines = versions.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "PendingManualApproval" in lines[0] and lines[0].endswith(ARN_1)


def test_show_prints_describe_model_package_json(home: Path) -> None:
    result = _sagepipe("registry", "show", ARN_1, home=home)

    assert result.returncode == 0, result.stderr
    shape = json.loads(result.stdout)
    assert shape["ModelPackageArn"] == ARN_1
    assert shape["ModelPackageVersion"] == 1
    assert shape["Metrics"] == {"f1": 0.9}


def test_approve_then_reject_with_reasons(home: Path) -> None:
    approved = _sagepipe("registry", "approve", ARN_1, "--reason", "good F1", home=home)
    rejected = _sagepipe("registry", "reject", ARN_1, "--reason", "drift", home=home)

    assert approved.stdout.strip() == f"{ARN_1}: Approved"
    assert rejected.stdout.strip() == f"{ARN_1}: Rejected"
    history = LocalRegistry(home / "registry.db").describe(ARN_1).approval_history
    assert [(e.to_status, e.reason) for e in history] == [
        ("PendingManualApproval", "registered"),
        ("Approved", "good F1"),
        ("Rejected", "drift"),
    ]


def test_registry_db_option_points_elsewhere(home: Path, tmp_path: Path) -> None:
    result = _sagepipe("registry", "groups", "--registry-db", str(tmp_path / "other.db"), home=home)

    assert result.returncode == 0
    assert result.stdout.strip() == "no model package groups"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "not-an-arn"), "is not a model package ARN"),
        (("show", ARN_1.replace("/1", "/7")), "no model package"),
        (("versions", "churn-model"), "did you mean 'churn-models'"),
        (("approve", "arn:aws:sagemaker:us-east-1:000000000000:model-package/x/1"), "no model"),
    ],
)
def test_mistakes_are_one_line_and_status_2(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    result = _sagepipe("registry", *args, home=home)

    assert result.returncode == 2
    assert result.stderr.startswith("sagepipe: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
