"""The SageMaker backend: every request checked against botocore's service model.

A real boto3 client with a Stubber attached: botocore validates each request's parameters
(names, types, required members, minimum lengths) and each stubbed response against the
service model, and nothing reaches AWS. ``_check_constraints`` adds the model's maximum
lengths, enums and patterns, which botocore leaves to the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.stub import Stubber  # noqa: E402

from sagepipe.registry import (  # noqa: E402
    ModelPackageInput,
    ModelPackageNotFoundError,
    RegistryError,
    SageMakerRegistry,
    register_model_version,
)
from sagepipe.registry.sagemaker import create_model_package_request  # noqa: E402

REGION = "us-west-2"
ACCOUNT = "123456789012"
GROUP = "churn-models"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/3"
IMAGE = "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        aws_session_token="x",
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _check_constraints(client: Any, operation: str, params: dict[str, Any]) -> None:
    model = client.meta.service_model.operation_model(operation).input_shape

    def check(shape: Any, value: Any, path: str) -> None:
        meta = shape.metadata
        if shape.type_name == "structure":
            for name, member in value.items():
                check(shape.members[name], member, f"{path}.{name}")
        elif shape.type_name == "list":
            assert len(value) <= meta.get("max", len(value)), path
            for index, item in enumerate(value):
                check(shape.member, item, f"{path}[{index}]")
        elif shape.type_name == "map":
            assert len(value) <= meta.get("max", len(value)), path
            for key, item in value.items():
                check(shape.key, key, f"{path} key")
                check(shape.value, item, f"{path}[{key}]")
        elif shape.type_name == "string":
            assert len(value) <= meta.get("max", len(value)), f"{path} too long"
            if shape.enum:
                assert value in shape.enum, f"{path}={value!r} not in {shape.enum}"
            pattern = meta.get("pattern")
            if pattern and "\\p" not in pattern:  # re has no Unicode classes
                assert re.fullmatch(pattern, value), f"{path}={value!r} !~ {pattern}"

    check(model, params, operation)


def _expect(
    stubber: Stubber, client: Any, method: str, response: dict[str, Any], **params: Any
) -> None:
    operation = client.meta.method_to_api_mapping[method]
    _check_constraints(client, operation, params)
    stubber.add_response(method, response, params)


def _request(**overrides: Any) -> ModelPackageInput:
    values: dict[str, Any] = {
        "group": GROUP,
        "region": REGION,
        "model_data_uri": "s3://bucket/pipeline/packaging/model.tar.gz",
        "image_uri": IMAGE,
        "content_types": ("text/csv", "application/json"),
        "response_types": ("application/json",),
        "inference_instance_types": ("ml.m5.large",),
        "transform_instance_types": ("ml.m5.xlarge",),
        "metrics": {"Validation F1 Score": 0.87, "Validation AUC ROC": 0.93},
        "metrics_uri": "s3://bucket/pipeline/evaluation/metrics.json",
        "sample_payload_uri": "s3://bucket/pipeline/payload/payload.tar.gz",
        "domain": "MACHINE_LEARNING",
        "task": "CLASSIFICATION",
        "framework": "PYTORCH",
        "framework_version": "2.1.0",
        "environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        "customer_metadata": {"team": "risk"},
        "description": "churn classifier",
    }
    return ModelPackageInput(**{**values, **overrides})


def _group_response() -> dict[str, Any]:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageGroupArn": GROUP_ARN,
        "CreationTime": NOW,
        "CreatedBy": {},
        "ModelPackageGroupStatus": "Completed",
    }


def _describe_response(arguments: dict[str, Any], status: str) -> dict[str, Any]:
    response = {
        key: value
        for key, value in arguments.items()
        if key not in ("ModelPackageGroupName", "ModelApprovalStatus")
    }
    response.update(
        ModelPackageName=GROUP,
        ModelPackageGroupName=GROUP,
        ModelPackageVersion=3,
        ModelPackageArn=ARN,
        CreationTime=NOW,
        ModelPackageStatus="Completed",
        ModelPackageStatusDetails={"ValidationStatuses": []},
        ModelApprovalStatus=status,
    )
    return response


def test_register_creates_the_group_when_absent_and_the_version(
    client: Any, stubber: Stubber
) -> None:
    request = _request()
    arguments = create_model_package_request(request)
    stubber.add_client_error(
        "describe_model_package_group",
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP_ARN} does not exist.",
        expected_params={"ModelPackageGroupName": GROUP},
    )
    _expect(
        stubber,
        client,
        "create_model_package_group",
        {"ModelPackageGroupArn": GROUP_ARN},
        ModelPackageGroupName=GROUP,
    )
    _expect(
        stubber,
        client,
        "describe_model_package_group",
        _group_response(),
        ModelPackageGroupName=GROUP,
    )
    _expect(stubber, client, "create_model_package", {"ModelPackageArn": ARN}, **arguments)
    _expect(
        stubber,
        client,
        "describe_model_package",
        _describe_response(arguments, "PendingManualApproval"),
        ModelPackageName=ARN,
    )

    package = SageMakerRegistry(client).register(request)

    assert package.model_package_arn == ARN
    assert package.model_package_version == 3
    assert package.metrics == request.metrics
    assert package.customer_metadata_properties == {"team": "risk"}
    assert package.model_metrics is not None
    assert package.model_metrics.s3_uri == request.metrics_uri
    assert package.inference_specification == request.inference_specification()
    assert package.region == REGION


def test_the_request_carries_everything_the_registry_needs() -> None:
    arguments = create_model_package_request(_request())

    spec = arguments["InferenceSpecification"]
    assert spec["Containers"] == [
        {
            "Image": IMAGE,
            "ModelDataUrl": "s3://bucket/pipeline/packaging/model.tar.gz",
            "Framework": "PYTORCH",
            "FrameworkVersion": "2.1.0",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        }
    ]
    assert spec["SupportedTransformInstanceTypes"] == ["ml.m5.xlarge"]
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["CustomerMetadataProperties"] == {
        "team": "risk",
        "sagepipe:metric:Validation F1 Score": "0.87",
        "sagepipe:metric:Validation AUC ROC": "0.93",
    }
    assert arguments["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": "s3://bucket/pipeline/evaluation/metrics.json",
    }


def test_a_minimal_request_is_valid_too(client: Any, stubber: Stubber) -> None:
    request = ModelPackageInput(
        group=GROUP, region=REGION, model_data_uri="s3://b/m.tar.gz", image_uri=IMAGE
    )
    arguments = create_model_package_request(request)
    assert "CustomerMetadataProperties" not in arguments and "ModelMetrics" not in arguments
    _expect(
        stubber,
        client,
        "describe_model_package_group",
        _group_response(),
        ModelPackageGroupName=GROUP,
    )
    _expect(stubber, client, "create_model_package", {"ModelPackageArn": ARN}, **arguments)
    _expect(
        stubber,
        client,
        "describe_model_package",
        _describe_response(arguments, "PendingManualApproval"),
        ModelPackageName=ARN,
    )

    package = register_model_version(
        SageMakerRegistry(client),
        group=GROUP,
        region=REGION,
        model_data_uri="s3://b/m.tar.gz",
        image_uri=IMAGE,
    )

    assert package.metrics == {}


def test_approval_updates_the_package(client: Any, stubber: Stubber) -> None:
    arguments = create_model_package_request(_request())
    _expect(
        stubber,
        client,
        "update_model_package",
        {"ModelPackageArn": ARN},
        ModelPackageArn=ARN,
        ModelApprovalStatus="Approved",
        ApprovalDescription="F1 above 0.8",
    )
    response = _describe_response(arguments, "Approved")
    response["ApprovalDescription"] = "F1 above 0.8"
    _expect(stubber, client, "describe_model_package", response, ModelPackageName=ARN)

    package = SageMakerRegistry(client).update_approval(ARN, "Approved", reason="F1 above 0.8")

    assert package.model_approval_status == "Approved"
    assert package.approval_description == "F1 above 0.8"
    assert package.approval_history == ()  # SageMaker keeps none


def test_versions_are_listed_across_pages(client: Any, stubber: Stubber) -> None:
    def summary(version: int) -> dict[str, Any]:
        return {
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": version,
            "ModelPackageArn": ARN[:-1] + str(version),
            "CreationTime": NOW,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": "Approved",
        }

    common = {
        "ModelPackageGroupName": GROUP,
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
        "MaxResults": 100,
    }
    _expect(
        stubber,
        client,
        "list_model_packages",
        {"ModelPackageSummaryList": [summary(1), summary(2)], "NextToken": "t1"},
        **common,
    )
    _expect(
        stubber,
        client,
        "list_model_packages",
        {"ModelPackageSummaryList": [summary(3)]},
        **common,
        NextToken="t1",
    )

    versions = SageMakerRegistry(client).list_versions(GROUP)

    assert [v.model_package_version for v in versions] == [1, 2, 3]


def test_groups_are_listed(client: Any, stubber: Stubber) -> None:
    group = {key: value for key, value in _group_response().items() if key != "CreatedBy"}
    _expect(
        stubber,
        client,
        "list_model_package_groups",
        {"ModelPackageGroupSummaryList": [group]},
        SortBy="Name",
        MaxResults=100,
    )

    groups = SageMakerRegistry(client).list_groups()

    assert [g.model_package_group_arn for g in groups] == [GROUP_ARN]
    assert SageMakerRegistry(client).list_groups("eu-west-1") == []


def test_errors_are_registry_errors(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_model_package",
        service_error_code="ValidationException",
        service_message=f"ModelPackage {ARN} does not exist.",
    )
    stubber.add_client_error(
        "update_model_package",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
    )
    registry = SageMakerRegistry(client)

    with pytest.raises(ModelPackageNotFoundError, match="does not exist"):
        registry.describe(ARN)
    with pytest.raises(RegistryError, match="AccessDeniedException: not allowed"):
        registry.update_approval(ARN, "Rejected")


def test_a_request_for_another_region_is_refused(client: Any) -> None:
    with pytest.raises(RegistryError, match="one per region"):
        SageMakerRegistry(client).register(_request(region="eu-west-1"))


def test_too_much_metadata_is_refused_before_calling() -> None:
    metrics = {f"m{i}": float(i) for i in range(51)}

    with pytest.raises(RegistryError, match="limit of 50"):
        create_model_package_request(_request(metrics=metrics))
