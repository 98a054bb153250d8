"""A definition shaped as the SageMaker Python SDK 2.x writes it (``Pipeline.definition()``),
written by hand from the SDK's request shapes: every parameter type, a processing step with a
property file, training, a condition on the property file with a nested condition, model,
registration, transform, a fail step, ``DependsOn``, cache and retry settings."""

from __future__ import annotations

import copy
from typing import Any

BUCKET = "s3://sdk-bucket"
ROLE = "arn:aws:iam::111122223333:role/SageMakerRole"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"


def _get(reference: str) -> dict[str, str]:
    return {"Get": reference}


def _join(*values: Any, on: str = "/") -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def _processing(name: str, inputs: list[dict[str, Any]], outputs: list[str]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": _get("Parameters.ProcessingInstanceCount"),
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {
                "ImageUri": IMAGE,
                "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{name}.py"],
            },
            "RoleArn": ROLE,
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output,
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": _join(
                                BUCKET, _get("Execution.PipelineExecutionId"), name, output
                            ),
                            "LocalPath": f"/opt/ml/processing/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output in outputs
                ]
            },
        },
    }


def _input(name: str, uri: Any, local: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


MODEL_DATA = _get("Steps.Train.ModelArtifacts.S3ModelArtifacts")


def sdk_definition() -> dict[str, Any]:
    """A fresh copy of the definition (tests change it)."""
    return copy.deepcopy(_DEFINITION)


_PREPROCESS = _processing(
    "Preprocess",
    [
        _input("input-1", _get("Parameters.InputData"), "/opt/ml/processing/input"),
        _input("code", f"{BUCKET}/code/preprocess.py", "/opt/ml/processing/input/code"),
    ],
    ["train", "test"],
)
_PREPROCESS["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P30D"}

_TRAIN = {
    "Name": "Train",
    "Type": "Training",
    "Arguments": {
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
        },
        "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/models"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "ResourceConfig": {
            "VolumeSizeInGB": 30,
            "InstanceCount": 1,
            "InstanceType": "ml.m5.xlarge",
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": _get(
                            "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
                        ),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "ChannelName": "train",
            }
        ],
        "HyperParameters": {
            "epochs": _get("Parameters.Epochs"),
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"{BUCKET}/code/sourcedir.tar.gz"',
        },
    },
    "RetryPolicies": [
        {
            "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR"],
            "IntervalSeconds": 1,
            "BackoffRate": 2.0,
            "MaxAttempts": 3,
        }
    ],
}

_EVALUATE = _processing(
    "Evaluate",
    [
        _input("model", MODEL_DATA, "/opt/ml/processing/model"),
        _input(
            "test",
            _get("Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"),
            "/opt/ml/processing/test",
        ),
    ],
    ["evaluation"],
)
_EVALUATE["PropertyFiles"] = [
    {
        "PropertyFileName": "EvaluationReport",
        "OutputName": "evaluation",
        "FilePath": "evaluation.json",
    }
]

_REGISTER = {
    "Name": "Register",
    "Type": "RegisterModel",
    "Arguments": {
        "ModelPackageGroupName": "sdk-models",
        "ModelApprovalStatus": _get("Parameters.ModelApprovalStatus"),
        "InferenceSpecification": {
            "Containers": [{"Image": IMAGE, "ModelDataUrl": MODEL_DATA}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "CustomerMetadataProperties": {
            "loss": _get("Steps.Train.FinalMetricDataList['loss'].Value"),
        },
    },
}

_MODEL = {
    "Name": "CreateModel",
    "Type": "Model",
    "Arguments": {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            "ModelDataUrl": MODEL_DATA,
        },
    },
}

_TRANSFORM = {
    "Name": "BatchScore",
    "Type": "Transform",
    "Arguments": {
        "ModelName": _get("Steps.CreateModel.ModelName"),
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/batch"}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"{BUCKET}/scores", "AssembleWith": "Line"},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    },
}

_CHECK_GPU = {
    "Name": "CheckBatch",
    "Type": "Condition",
    "Arguments": {
        "Conditions": [
            {
                "Type": "Or",
                "Conditions": [
                    {
                        "Type": "Equals",
                        "LeftValue": _get("Parameters.RunBatch"),
                        "RightValue": True,
                    },
                    {
                        "Type": "Not",
                        "Expression": {
                            "Type": "In",
                            "QueryValue": _get("Execution.PipelineName"),
                            "Values": ["dev", "test"],
                        },
                    },
                ],
            }
        ],
        "IfSteps": [_TRANSFORM],
        "ElseSteps": [],
    },
}

_FAIL = {
    "Name": "AccuracyTooLow",
    "Type": "Fail",
    "Arguments": {
        "ErrorMessage": _join("accuracy below", _get("Parameters.AccuracyThreshold"), on=" ")
    },
}

_CHECK = {
    "Name": "CheckAccuracy",
    "Type": "Condition",
    "Arguments": {
        "Conditions": [
            {
                "Type": "GreaterThanOrEqualTo",
                "LeftValue": {
                    "Std:JsonGet": {
                        "PropertyFile": _get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
                        "Path": "metrics.accuracy.value",
                    }
                },
                "RightValue": _get("Parameters.AccuracyThreshold"),
            }
        ],
        "IfSteps": [_REGISTER, _MODEL, _CHECK_GPU],
        "ElseSteps": [_FAIL],
    },
}

_REPORT = _processing(
    "Report",
    [_input("code", f"{BUCKET}/code/report.py", "/opt/ml/processing/input/code")],
    ["report"],
)
_REPORT["DependsOn"] = ["Train"]
_REPORT["DisplayName"] = "Training report"
_REPORT["Description"] = "Runs after training, reads nothing from it."

_DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Metadata": {},
    "Parameters": [
        {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": 1},
        {"Name": "InputData", "Type": "String", "DefaultValue": f"{BUCKET}/raw"},
        {"Name": "Epochs", "Type": "Integer", "DefaultValue": 10},
        {"Name": "AccuracyThreshold", "Type": "Float", "DefaultValue": 0.7},
        {"Name": "RunBatch", "Type": "Boolean", "DefaultValue": False},
        {
            "Name": "ModelApprovalStatus",
            "Type": "String",
            "DefaultValue": "PendingManualApproval",
            "EnumValues": ["PendingManualApproval", "Approved"],
        },
    ],
    "PipelineExperimentConfig": {
        "ExperimentName": _get("Execution.PipelineName"),
        "TrialName": _get("Execution.PipelineExecutionId"),
    },
    "Steps": [_PREPROCESS, _TRAIN, _EVALUATE, _CHECK, _REPORT],
}
