"""Offline validation against botocore's SageMaker model: every constraint, every problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import ProcessingConfig, ProcessingOutput
from sagepipe.pipeline import ParameterInteger, ParameterString, Pipeline
from sagepipe.sagemaker import CompiledPipeline, DefinitionValidationError, compile_pipeline
from sagepipe.sagemaker.validation import validate_definition
from sagepipe.sagemaker.validation.arguments import ArgumentChecker
from sagepipe.steps import ProcessingStepBuilder

from .resources.pipelines import SHARED


def problems_of(api: str, arguments: Any, parameters: dict[str, Any] | None = None) -> list[str]:
    checker = ArgumentChecker("s", parameters or {}, {"train": "Training", "prep": "Processing"})
    checker.check_request(api, arguments)
    return checker.problems


def valid_training() -> dict[str, Any]:
    return {
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {
            "InstanceCount": 1,
            "InstanceType": "ml.m5.xlarge",
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def test_every_step_type_is_valid(compiled_example: CompiledPipeline) -> None:
    assert set(compiled_example.apis.values()) == {
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateModel",
        "CreateModelPackage",
        "CreateTransformJob",
        "CreateEndpointConfig",
        "CreateEndpoint",
    }
    assert validate_definition(compiled_example.definition, compiled_example.apis) == []


def test_a_valid_request_has_no_problems() -> None:
    assert problems_of("CreateTrainingJob", valid_training()) == []


def test_enum_names_the_path_and_the_choices() -> None:
    arguments = valid_training()
    arguments["ResourceConfig"]["InstanceType"] = "ml.bad"
    [problem] = problems_of("CreateTrainingJob", arguments)
    assert problem.startswith("step 's': Arguments.ResourceConfig.InstanceType: 'ml.bad' is not")
    assert "is not one of the" in problem
    assert "TrainingInstanceType values (ml.m4.xlarge, ml.m4.2xlarge" in problem
    arguments["ResourceConfig"]["InstanceType"] = "ml.m5.xlarg"
    [problem] = problems_of("CreateTrainingJob", arguments)
    assert problem.endswith("(did you mean 'ml.m5.xlarge'?)")


def test_all_problems_are_collected() -> None:
    arguments = valid_training()
    arguments["ResourceConfig"]["InstanceCount"] = 0  # minimum 0? see below
    arguments["StoppingCondition"]["MaxRuntimeInSeconds"] = 0  # min 1
    arguments["RoleArn"] = "not-an-arn-at-all"  # pattern (and length >= 20)
    arguments["AlgorithmSpecification"]["TrainingInputMode"] = "Streaming"  # enum
    arguments["Environment"] = {"K" * 600: "v"}  # key longer than 512
    arguments["Unknown"] = 1  # no such member
    del arguments["OutputDataConfig"]  # required
    arguments["HyperParameters"] = {"lr": 0.1}  # must be a string
    problems = problems_of("CreateTrainingJob", arguments)
    text = "\n".join(problems)
    for expected in (
        "Arguments.StoppingCondition.MaxRuntimeInSeconds: 0 is less than the minimum 1",
        "Arguments.RoleArn: 'not-an-arn-at-all' does not match the pattern",
        "Arguments.AlgorithmSpecification.TrainingInputMode: 'Streaming' is not one of",
        "Arguments.Environment key 'KKKK",
        "Arguments.Unknown: CreateTrainingJobRequest has no member 'Unknown'",
        "Arguments.OutputDataConfig: is required by CreateTrainingJobRequest",
        "Arguments.HyperParameters.lr: must be a string, not a float 0.1",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert len(problems) >= 7


def test_maximum_length_and_count_are_checked() -> None:
    arguments = valid_training()
    arguments["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": f"m{i}", "Regex": "x: (.*)"} for i in range(41)
    ]
    arguments["AlgorithmSpecification"]["TrainingImage"] = "i" * 300
    text = "\n".join(problems_of("CreateTrainingJob", arguments))
    assert "MetricDefinitions: has 41 items; at most 40 allowed" in text
    assert "TrainingImage: is 300 characters long; at most 255 allowed" in text


def test_types_are_checked() -> None:
    arguments = valid_training()
    arguments["ResourceConfig"]["VolumeSizeInGB"] = "30"
    arguments["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = "yes"
    arguments["ResourceConfig"]["InstanceCount"] = True
    text = "\n".join(problems_of("CreateTrainingJob", arguments))
    assert "VolumeSizeInGB: must be an integer, not a string '30'" in text
    assert "EnableSageMakerMetricsTimeSeries: must be true or false" in text
    assert "InstanceCount: must be an integer, not a boolean True" in text


def test_expressions_are_typed_placeholders() -> None:
    parameters = {
        "Count": {"Name": "Count", "Type": "Integer", "DefaultValue": 2},
        "Kind": {"Name": "Kind", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        "BadKind": {"Name": "BadKind", "Type": "String", "DefaultValue": "ml.nope"},
    }
    arguments = valid_training()
    arguments["ResourceConfig"]["InstanceCount"] = {"Get": "Parameters.Count"}
    arguments["ResourceConfig"]["InstanceType"] = {"Get": "Parameters.Kind"}
    arguments["OutputDataConfig"]["S3OutputPath"] = {
        "Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}]}
    }
    arguments["InputDataConfig"] = [
        {
            "ChannelName": "data",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": {
                        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['x'].S3Output.S3Uri"
                    },
                }
            },
        }
    ]
    assert problems_of("CreateTrainingJob", arguments, parameters) == []
    # A String parameter in an integer field, a bad default, an unknown property path.
    arguments["ResourceConfig"]["VolumeSizeInGB"] = {"Get": "Parameters.Kind"}
    arguments["ResourceConfig"]["InstanceType"] = {"Get": "Parameters.BadKind"}
    arguments["StoppingCondition"]["MaxRuntimeInSeconds"] = {
        "Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"
    }
    arguments["OutputDataConfig"]["KmsKeyId"] = {"Get": "Steps.train.ModelArtifactz"}
    arguments["CheckpointConfig"] = {"S3Uri": {"Get": "Parameters.Missing"}}
    text = "\n".join(problems_of("CreateTrainingJob", arguments, parameters))
    for expected in (
        "VolumeSizeInGB: parameter 'Kind' is a string; this field needs a integer",
        "InstanceType (default of parameter 'BadKind'): 'ml.nope' is not one of",
        "MaxRuntimeInSeconds: Steps.train.ModelArtifacts.S3ModelArtifacts is a string",
        "a Training step has no property 'ModelArtifactz' here (did you mean 'ModelArtifacts'?)",
        "parameter 'Missing' is not declared",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"


def test_a_broken_config_is_caught_with_step_and_path(tmp_path: Path) -> None:
    (tmp_path / "prep.py").write_text("print(1)\n")
    # Valid for the config model, beyond CreateProcessingJob's limits (9 days, 1..100).
    config = ProcessingConfig(
        **SHARED,
        processing_entry_point="prep.py",
        source_dir=str(tmp_path),
        max_runtime_seconds=800_000,
        processing_instance_count=ParameterInteger("Instances", 500),
        processing_instance_type=ParameterString("PrepInstance", "ml.m5.xlarge"),
        outputs=[ProcessingOutput(name="out")],
    )
    pipeline = Pipeline("broken", [ProcessingStepBuilder(config).create_step(name="prep")])
    with pytest.raises(DefinitionValidationError) as caught:
        compile_pipeline(pipeline)
    problems = caught.value.problems
    assert (
        "step 'prep': Arguments.StoppingCondition.MaxRuntimeInSeconds: 800000 is more than "
        "the maximum 777600"
    ) in problems
    assert any(
        p.startswith(
            "step 'prep': Arguments.ProcessingResources.ClusterConfig.InstanceCount "
            "(default of parameter 'Instances'): 500 is more than the maximum"
        )
        for p in problems
    ), problems
    assert "2 problems" in str(caught.value)


def test_definition_level_checks(compiled_example: CompiledPipeline) -> None:
    definition = copy.deepcopy(compiled_example.definition)
    steps = definition["Steps"]
    assert isinstance(steps, list)
    steps.append(copy.deepcopy(steps[0]))
    steps[1]["DependsOn"] = ["nowhere"]  # type: ignore[index]
    steps[2]["Name"] = "bad name!"  # type: ignore[index]
    definition["Version"] = "2019-01-01"
    problems = validate_definition(definition)
    text = "\n".join(problems)
    assert "step name 'preprocess' is used twice" in text
    assert "DependsOn names 'nowhere'" in text
    assert "step name 'bad name!' is invalid" in text
    assert "Version is '2019-01-01'" in text


def test_the_size_limit_is_checked(compiled_example: CompiledPipeline) -> None:
    definition = json.loads(compiled_example.to_json())
    definition["Steps"][0]["Arguments"]["Environment"] = {f"K{i}": "v" * 250 for i in range(5000)}
    problems = validate_definition(definition)
    assert any("CreatePipeline accepts at most 1048576" in p for p in problems)
