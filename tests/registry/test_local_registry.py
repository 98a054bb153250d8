"""The local registry: versions, concurrency (threads and processes), approvals, ARNs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sagepipe.registry import (
    InvalidArnError,
    LocalRegistry,
    ModelPackageNotFoundError,
    RegistryError,
    register_model_version,
)
from sagepipe.registry.models import ModelPackage

REGION = "us-east-1"


def _register(registry: LocalRegistry, group: str = "churn-models", **kw: object) -> ModelPackage:
    return register_model_version(
        registry,
        group=group,
        region=kw.pop("region", REGION),  # type: ignore[arg-type]
        model_data_uri="s3://bucket/packaged/model.tar.gz",
        image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def registry(tmp_path: Path) -> LocalRegistry:
    return LocalRegistry(tmp_path / "registry.db")


def test_versions_count_from_one_per_group_and_region(registry: LocalRegistry) -> None:
    first, second = _register(registry), _register(registry)
    other_group = _register(registry, group="fraud")
    other_region = _register(registry, region="eu-west-1")

    assert (first.model_package_version, second.model_package_version) == (1, 2)
    assert other_group.model_package_version == 1
    assert other_region.model_package_version == 1
    assert first.model_package_arn == (
        "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn-models/1"
    )
    assert other_region.model_package_arn.startswith("arn:aws:sagemaker:eu-west-1:")
    groups = registry.list_groups()
    assert [(g.model_package_group_name, g.region) for g in groups] == [
        ("churn-models", "eu-west-1"),
        ("churn-models", REGION),
        ("fraud", REGION),
    ]
    assert groups[1].model_package_group_arn == (
        "arn:aws:sagemaker:us-east-1:000000000000:model-package-group/churn-models"
    )


def test_the_account_comes_from_the_environment(
    registry: LocalRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEPIPE_ACCOUNT_ID", "123456789012")
    package = _register(registry, group="Mixed-Case")

    assert package.model_package_arn == (
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/mixed-case/1"
    )
    assert registry.describe(package.model_package_arn).model_package_group_name == "Mixed-Case"
    monkeypatch.setenv("SAGEPIPE_ACCOUNT_ID", "12")
    with pytest.raises(InvalidArnError, match="12-digit"):
        _register(registry)


def test_describe_mirrors_describe_model_package(registry: LocalRegistry) -> None:
    package = _register(
        registry,
        content_types=["text/csv"],
        response_types=["application/json", "text/csv"],
        instance_types=["ml.m5.xlarge"],
        metrics=[
            {"MetricName": "Validation F1 Score", "Value": 0.81, "Timestamp": 1.0},
            {"MetricName": "Validation F1 Score", "Value": 0.87, "Timestamp": 2.0},
        ],
        sample_payload_uri="s3://bucket/payload/payload.tar.gz",
        domain="MACHINE_LEARNING",
        task="CLASSIFICATION",
        framework="PYTORCH",
        framework_version="2.1.0",
        customer_metadata={"team": "risk"},
        description="churn classifier",
    )

    shape = registry.describe(package.model_package_arn).model_dump(by_alias=True, mode="json")

    container = shape["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == "s3://bucket/packaged/model.tar.gz"
    assert container["Framework"] == "PYTORCH" and container["FrameworkVersion"] == "2.1.0"
    spec = shape["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert spec["SupportedResponseMIMETypes"] == ["application/json", "text/csv"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.xlarge"]
    assert shape["ModelApprovalStatus"] == "PendingManualApproval"
    assert shape["Metrics"] == {"Validation F1 Score": 0.87}
    assert shape["SamplePayloadUrl"] == "s3://bucket/payload/payload.tar.gz"
    assert (shape["Domain"], shape["Task"]) == ("MACHINE_LEARNING", "CLASSIFICATION")
    assert shape["CustomerMetadataProperties"] == {"team": "risk"}
    assert shape["ModelPackageDescription"] == "churn classifier"
    assert shape["Region"] == REGION
    assert shape["ModelPackageGroupName"] == shape["ModelPackageName"] == "churn-models"


def test_approval_changes_are_recorded_with_who_when_and_why(registry: LocalRegistry) -> None:
    arn = _register(registry).model_package_arn

    registry.update_approval(arn, "Approved", reason="F1 above 0.8", by="alice")
    registry.update_approval(arn, "Approved", reason="again", by="bob")  # no change, no event
    final = registry.update_approval(arn, "Rejected", reason="drift found", by="carol")

    history = [(e.from_status, e.to_status, e.by, e.reason) for e in final.approval_history]
    assert history == [
        (None, "PendingManualApproval", history[0][2], "registered"),
        ("PendingManualApproval", "Approved", "alice", "F1 above 0.8"),
        ("Approved", "Rejected", "carol", "drift found"),
    ]
    times = [e.at for e in final.approval_history]
    assert times == sorted(times)
    assert final.model_approval_status == "Rejected"
    assert final.approval_description == "drift found"
    assert [v.model_approval_status for v in registry.list_versions("churn-models")] == ["Rejected"]


def test_the_initial_status_can_be_approved(registry: LocalRegistry) -> None:
    package = _register(registry, approval_status="Approved")

    assert package.model_approval_status == "Approved"
    assert package.approval_history[0].to_status == "Approved"


def test_unknown_and_malformed_arns(registry: LocalRegistry) -> None:
    _register(registry)

    with pytest.raises(ModelPackageNotFoundError, match="churn-models/9"):
        registry.describe("arn:aws:sagemaker:us-east-1:000000000000:model-package/churn-models/9")
    with pytest.raises(InvalidArnError, match="not a model package ARN"):
        registry.describe("churn-models/1")
    with pytest.raises(ModelPackageNotFoundError, match="did you mean 'churn-models'"):
        registry.list_versions("churn-model")


def test_bad_metrics_are_an_error(registry: LocalRegistry) -> None:
    with pytest.raises(RegistryError, match="not a FinalMetricDataList entry"):
        _register(registry, metrics=[{"name": "f1"}])
    with pytest.raises(RegistryError, match="not a number"):
        _register(registry, metrics={"f1": "high"})


def test_the_default_database_is_under_sagepipe_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "home"))
    _register(LocalRegistry())

    assert (tmp_path / "home" / "registry.db").is_file()
    assert LocalRegistry().list_versions("churn-models")[0].model_package_version == 1


def test_concurrent_registrations_from_threads_get_each_version_once(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    shared = LocalRegistry(path)

    def register_five(worker: int) -> list[int]:
        # Half the workers share one instance, half have their own connection setup.
        registry = shared if worker % 2 else LocalRegistry(path)
        return [_register(registry).model_package_version for _ in range(5)]

    with ThreadPoolExecutor(8) as pool:
        versions = [v for batch in pool.map(register_five, range(8)) for v in batch]

    assert sorted(versions) == list(range(1, 41))
    listed = [v.model_package_version for v in shared.list_versions("churn-models")]
    assert listed == list(range(1, 41))


WORKER = """
import sys, time
from pathlib import Path
from sagepipe.registry import LocalRegistry, register_model_version

db, go = Path(sys.argv[1]), Path(sys.argv[2])
registry = LocalRegistry(db)
while not go.exists():  # start together, so the registrations really overlap
    time.sleep(0.005)
for _ in range(5):
    package = register_model_version(
        registry, group="churn-models", region="us-east-1",
        model_data_uri="s3://b/m.tar.gz", image_uri="image",
    )
    print(package.model_package_version, flush=True)
"""


@pytest.mark.slow
def test_concurrent_registrations_from_processes_get_each_version_once(tmp_path: Path) -> None:
    db, go = tmp_path / "registry.db", tmp_path / "go"
    LocalRegistry(db).list_groups()  # create the schema before the race
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER), str(db), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(0.5)
    go.touch()
    versions = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        versions += [int(line) for line in out.split()]

    assert sorted(versions) == list(range(1, 21))
    arns = {v.model_package_arn for v in LocalRegistry(db).list_versions("churn-models")}
    assert len(arns) == 20
