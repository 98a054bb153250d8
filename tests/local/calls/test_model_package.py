"""CreateModelPackage (RegisterModel) for real: the smoke test serves the package and sends
every sample of SamplePayloadUrl, the version lands in the local registry (its group created),
DescribeModelPackage-shaped properties, and the refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure
from sagepipe.registry import LocalRegistry

from .models import FAILING_LOAD, IMAGE, Calls, put_model, put_text, tar_gz

GROUP = "churn-models"


def package_request(model_data: str, **fields: Any) -> dict[str, Any]:
    container = {
        "Image": IMAGE,
        "ModelDataUrl": model_data,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        },
        "Framework": "PYTORCH",
        "FrameworkVersion": "2.1.0",
    }
    return {
        "ModelPackageGroupName": GROUP,
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
        },
        "ModelApprovalStatus": "Approved",
        **fields,
    }


def payload(calls: Calls, tmp_path: Path, files: dict[str, bytes]) -> str:
    archive = tar_gz(tmp_path / "payload.tar.gz", files)
    uri = "s3://sagepipe-local/calls/payload/payload.tar.gz"
    calls.storage.put_file(archive, uri)
    return uri


def test_package_passes_the_smoke_test_and_is_registered(calls: Calls, tmp_path: Path) -> None:
    model_data = put_model(calls.storage, tmp_path)
    samples = payload(calls, tmp_path, {"a.csv": b"1,2\n3,4\n", "b.csv": b"5,6\n"})
    report = put_text(
        calls.storage,
        tmp_path,
        "metrics/statistics.json",
        json.dumps(
            {"regression_metrics": {"mse": {"value": 0.25, "standard_deviation": 0}}}
        ).encode(),
    )
    metrics = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report}}}
    drift = {"Bias": {"ConfigFile": {"S3Uri": "s3://b/bias.json"}}}
    request = package_request(
        model_data,
        SamplePayloadUrl=samples,
        ModelMetrics=metrics,
        DriftCheckBaselines=drift,
        CustomerMetadataProperties={"team": "risk"},
        ModelPackageDescription="churn scorer",
        Domain="MACHINE_LEARNING",
        Task="REGRESSION",
        SkipModelValidation="None",
    )
    assert local_call("RegisterModel").problems("Register", request) == []

    outcome = local_call("RegisterModel").run(calls.context("Register", "RegisterModel", request))
    again = local_call("RegisterModel").run(calls.context("Register", "RegisterModel", request))

    properties = outcome.properties
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:model-package/{GROUP}/1"
    assert properties["ModelPackageArn"] == arn
    assert properties["ModelPackageGroupName"] == GROUP
    assert properties["ModelPackageVersion"] == 1
    assert properties["ModelApprovalStatus"] == "Approved"
    assert properties["ModelPackageDescription"] == "churn scorer"
    assert properties["CustomerMetadataProperties"] == {"team": "risk"}
    assert properties["SamplePayloadUrl"] == samples
    assert (properties["Domain"], properties["Task"]) == ("MACHINE_LEARNING", "REGRESSION")
    assert properties["ModelMetrics"] == metrics
    assert properties["DriftCheckBaselines"] == drift
    container = properties["InferenceSpecification"]["Containers"][0]
    assert (container["Image"], container["ModelDataUrl"]) == (IMAGE, model_data)
    assert container["Framework"] == "PYTORCH"
    spec = properties["InferenceSpecification"]
    assert spec["SupportedResponseMIMETypes"] == ["application/json"]
    assert spec["SupportedTransformInstanceTypes"] == ["ml.m5.xlarge"]
    assert again.properties["ModelPackageVersion"] == 2
    assert outcome.warnings == []
    log = "\n".join(calls.logs["Register"])
    assert "the a.csv sample payload" in log and "the b.csv sample payload" in log
    registry = LocalRegistry(calls.home / "registry.db")
    package = registry.describe(arn)
    assert package.metrics == {"mse": 0.25}
    assert package.model_metrics is not None and package.model_metrics.s3_uri == report
    assert [v.model_package_version for v in registry.list_versions(GROUP, "us-east-1")] == [1, 2]


def test_a_sample_the_model_refuses_fails_and_registers_nothing(
    calls: Calls, tmp_path: Path
) -> None:
    model_data = put_model(calls.storage, tmp_path)
    samples = payload(calls, tmp_path, {"bad.csv": b"not,numbers\n"})
    request = package_request(model_data, SamplePayloadUrl=samples)

    with pytest.raises(StepFailure) as failure:
        local_call("RegisterModel").run(calls.context("Register", "RegisterModel", request))

    reason = str(failure.value)
    assert f"smoke test: the bad.csv sample payload of {samples}" in reason
    assert re.search(r"was refused with HTTP [45]\d\d: ", reason), reason
    assert LocalRegistry(calls.home / "registry.db").list_groups() == []


def test_skip_model_validation_registers_without_serving(calls: Calls, tmp_path: Path) -> None:
    # This package cannot load: only skipping the validation lets it register.
    model_data = put_model(calls.storage, tmp_path, inference=FAILING_LOAD)
    request = package_request(model_data)

    with pytest.raises(StepFailure, match="model server"):
        local_call("RegisterModel").run(calls.context("Check", "RegisterModel", request))
    skipped = local_call("RegisterModel").run(
        calls.context("Skip", "RegisterModel", {**request, "SkipModelValidation": "All"})
    )

    assert skipped.properties["ModelPackageVersion"] == 1
    assert "sagepipe: smoke test skipped (SkipModelValidation All)" in calls.logs["Skip"]


def test_bad_approval_status_is_one_line(calls: Calls, tmp_path: Path) -> None:
    request = package_request(put_model(calls.storage, tmp_path), ModelApprovalStatus="Maybe")
    request["SkipModelValidation"] = "All"

    with pytest.raises(StepFailure) as failure:
        local_call("RegisterModel").run(calls.context("Register", "RegisterModel", request))

    assert "the model package cannot be registered" in str(failure.value)
    assert "Maybe" in str(failure.value) and "\n" not in str(failure.value)


def test_problems_refuse_what_the_registry_cannot_hold() -> None:
    register = local_call("RegisterModel")
    request = package_request("s3://b/m.tar.gz")
    container = request["InferenceSpecification"]["Containers"][0]
    two = {**request, "InferenceSpecification": {"Containers": [container, container]}}
    unversioned = {k: v for k, v in request.items() if k != "ModelPackageGroupName"}
    other_image = {
        **request,
        "InferenceSpecification": {"Containers": [{**container, "Image": "me/mine:1"}]},
    }

    assert (
        len(register.problems("R", two)) == 1
        and "holds 2 containers" in (register.problems("R", two)[0])
    )
    assert "no ModelPackageGroupName" in register.problems("R", unversioned)[0]
    assert "'me/mine:1' has no local runtime" in register.problems("R", other_image)[0]
