"""Model -> RegisterModel (approval from a parameter) -> Transform, and EndpointConfig ->
Endpoint, as a definition run by `sagepipe run DEFINITION.json`: the steps find each other's
properties (`Get` of ModelName, PrimaryContainer.ModelDataUrl, EndpointConfigName)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sagepipe.endpoints import EndpointNotFoundError, delete_endpoint, describe_endpoint
from sagepipe.registry import LocalRegistry

from .models import BUCKET, IMAGE, Calls, put_model, put_text, tar_gz
from .test_transform import transform_request

ENV = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


def definition(payload: str) -> dict[str, Any]:
    model_data = {"Get": "Steps.Model.PrimaryContainer.ModelDataUrl"}
    model_name = {"Get": "Steps.Model.ModelName"}
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "Approval", "Type": "String", "DefaultValue": "PendingManualApproval"}
        ],
        "Steps": [
            {
                "Name": "Model",
                "Type": "Model",
                "Arguments": {
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
                    "PrimaryContainer": {
                        "Image": IMAGE,
                        "ModelDataUrl": f"{BUCKET}/model/model.tar.gz",
                        "Environment": ENV,
                    },
                },
            },
            {
                "Name": "Register",
                "Type": "RegisterModel",
                "Arguments": {
                    "ModelPackageGroupName": "defined",
                    "ModelApprovalStatus": {"Get": "Parameters.Approval"},
                    "SamplePayloadUrl": payload,
                    "InferenceSpecification": {
                        "Containers": [
                            {"Image": IMAGE, "ModelDataUrl": model_data, "Environment": ENV}
                        ],
                        "SupportedContentTypes": ["text/csv"],
                        "SupportedResponseMIMETypes": ["application/json"],
                    },
                },
            },
            {
                "Name": "Score",
                "Type": "Transform",
                "Arguments": transform_request(
                    f"{BUCKET}/in", ModelName=model_name, DataProcessing={"JoinSource": "Input"}
                ),
            },
            {
                "Name": "Config",
                "Type": "EndpointConfig",
                "Arguments": {
                    "EndpointConfigName": "defined-config",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": model_name,
                            "InitialInstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                        }
                    ],
                },
            },
            {
                "Name": "Deploy",
                "Type": "Endpoint",
                "Arguments": {
                    "EndpointName": "defined-endpoint",
                    "EndpointConfigName": {"Get": "Steps.Config.EndpointConfigName"},
                },
            },
        ],
    }


def test_definition_runs_model_package_transform_and_endpoint(calls: Calls, tmp_path: Path) -> None:
    put_model(calls.storage, tmp_path)
    put_text(calls.storage, tmp_path, "in/rows.csv", b"1,2\n3,4\n")
    payload = f"{BUCKET}/payload.tar.gz"
    calls.storage.put_file(tar_gz(tmp_path / "payload.tar.gz", {"a.csv": b"1,2\n"}), payload)
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition(payload)))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "sagepipe", "run", str(path), "--param", "Approval=Approved"],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "SAGEPIPE_HOME": str(calls.home)},
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert describe_endpoint("defined-endpoint", calls.home).status == "InService"
    finally:
        with contextlib.suppress(EndpointNotFoundError):
            delete_endpoint("defined-endpoint", calls.home)

    with calls.storage.open_read(f"{BUCKET}/out/rows.csv.out") as reader:
        assert reader.read() == b"1,2,6.0\n3,4,14.0\n"
    [version] = LocalRegistry(calls.home / "registry.db").list_versions("defined")
    assert version.model_approval_status == "Approved"
