"""Reading definitions: compiled ones read back unchanged, the SDK's shapes and wrappers, and
one exact line for each kind of bad input."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.sagemaker.resources.pipelines import full_pipeline, training_pipeline

from sagepipe.local.definition.errors import (
    DefinitionReadError,
    UnknownStepTypeError,
    UnsupportedStepTypeError,
)
from sagepipe.local.definition.model import Definition
from sagepipe.local.definition.reading import definition_from_json, read_definition
from sagepipe.sagemaker import CompileOptions, compile_pipeline

from .sdk_shaped import sdk_definition

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _dumped(definition: Definition) -> Any:
    return json.loads(json.dumps(definition.model_dump(mode="json", exclude_unset=True)))


def _tabular(tmp_path: Path) -> Any:
    # A copy: importing and compiling an example must not write into the repository.
    shutil.copytree(EXAMPLES / "tabular", tmp_path / "tabular")
    spec = importlib.util.spec_from_file_location("tabular_copy", tmp_path / "tabular/pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_pipeline()


COMPILED = {
    "example": lambda tmp: full_pipeline(),
    "torch_distributed": lambda tmp: training_pipeline("torch_distributed"),
    "pytorchddp": lambda tmp: training_pipeline("pytorchddp", instance_type="ml.p4d.24xlarge"),
    "tabular": _tabular,
}


@pytest.mark.parametrize("case", sorted(COMPILED))
def test_compiled_pipelines_read_back_unchanged(case: str, tmp_path: Path) -> None:
    options = CompileOptions(
        role="arn:aws:iam::123456789012:role/SageMakerRole", bucket="sagepipe-test-bucket"
    )
    compiled = compile_pipeline(COMPILED[case](tmp_path), options)
    path = tmp_path / "definition.json"
    path.write_text(compiled.to_json())
    definition = read_definition(path)
    assert _dumped(definition) == json.loads(compiled.to_json())
    assert [s.Name for s in definition.Steps] == [s["Name"] for s in compiled.definition["Steps"]]


def test_sdk_shaped_definition_reads_with_nested_branches() -> None:
    raw = sdk_definition()
    definition = read_definition(json.dumps(raw), source="sdk.json")
    assert _dumped(definition) == raw
    placed = {p.step.Name: p for p in definition.placed_steps()}
    assert placed["BatchScore"].path == ("Steps[3].Arguments.IfSteps[2].Arguments.IfSteps[0]")
    assert (placed["BatchScore"].condition, placed["BatchScore"].branch) == (
        "CheckBatch",
        "IfSteps",
    )
    assert (placed["AccuracyTooLow"].condition, placed["AccuracyTooLow"].branch) == (
        "CheckAccuracy",
        "ElseSteps",
    )
    assert placed["Train"].condition is None
    assert definition.parameter_types() == {
        "ProcessingInstanceCount": "Integer",
        "InputData": "String",
        "Epochs": "Integer",
        "AccuracyThreshold": "Float",
        "RunBatch": "Boolean",
        "ModelApprovalStatus": "String",
    }


def test_describe_pipeline_response_and_sdk_string_forms(tmp_path: Path) -> None:
    raw = sdk_definition()
    response = {
        "PipelineArn": "arn:aws:sagemaker:us-east-1:111122223333:pipeline/sdk",
        "PipelineName": "sdk",
        "PipelineDefinition": json.dumps(raw),
        "PipelineStatus": "Active",
    }
    path = tmp_path / "describe.json"
    path.write_text(json.dumps(response))
    assert _dumped(read_definition(path)) == raw
    # PipelineDefinition as an object (a tool that decoded it), and the SDK's definition()
    # string dumped once more with json.dump.
    response["PipelineDefinition"] = raw
    assert _dumped(definition_from_json(response, source="d")) == raw
    path.write_text(json.dumps(json.dumps(raw)))
    assert _dumped(read_definition(path)) == raw


def test_problems_inside_a_describe_pipeline_response_name_their_path() -> None:
    raw = sdk_definition()
    raw["Steps"][1].pop("Arguments")
    response = {"PipelineName": "sdk", "PipelineDefinition": json.dumps(raw)}
    with pytest.raises(DefinitionReadError) as caught:
        read_definition(json.dumps(response), source="describe.json")
    assert str(caught.value) == (
        "describe.json: $.PipelineDefinition.Steps[1].Arguments: is required"
    )
    raw = sdk_definition()
    raw["Steps"][0]["Type"] = "Lambda"
    response["PipelineDefinition"] = json.dumps(raw)
    with pytest.raises(
        UnsupportedStepTypeError,
        match=r"'Preprocess' \(Lambda\) at "
        r"\$\.PipelineDefinition\.Steps\[0\]",
    ):
        read_definition(json.dumps(response), source="describe.json")


def test_sdk_3_definition_with_mlflow_config_and_no_experiment_config() -> None:
    # SDK 3.x's Pipeline.definition() adds MlflowConfig and writes a missing experiment
    # config as null.
    raw = sdk_definition()
    raw["PipelineExperimentConfig"] = None
    raw["MlflowConfig"] = {"MlflowResourceArn": None, "MlflowExperimentName": "exp"}
    definition = read_definition(json.dumps(raw), source="sdk3.json")
    assert definition.PipelineExperimentConfig is None
    assert definition.MlflowConfig is not None
    assert definition.MlflowConfig.MlflowExperimentName == "exp"
    assert _dumped(definition) == raw


def _message(error: type[Exception], value: Any) -> str:
    with pytest.raises(error) as caught:
        definition_from_json(value, source="d.json")
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "Version": "2020-12-01",\n  "Steps": [\n}\n')
    with pytest.raises(DefinitionReadError) as caught:
        read_definition(path)
    assert str(caught.value) == (
        f"{path}: the file is not valid JSON: Expecting value at line 4 column 1"
    )
    wrapped = json.dumps({"PipelineDefinition": '{"Steps": '})
    with pytest.raises(DefinitionReadError) as caught:
        read_definition(wrapped, source="describe.json")
    assert str(caught.value) == (
        "describe.json: its PipelineDefinition string is not valid JSON: Expecting value at "
        "line 1 column 11"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(DefinitionReadError, match=r"binary\.json: cannot read the definition"):
        read_definition(path)


def test_not_a_definition() -> None:
    assert _message(DefinitionReadError, [1, 2]) == (
        "d.json: $: not a pipeline definition: expected an object with Version and Steps (or a "
        "describe-pipeline response with PipelineDefinition), found a list"
    )
    assert _message(DefinitionReadError, {"PipelineArn": "x", "Version": "2020-12-01"}) == (
        "d.json: $: not a pipeline definition: expected an object with Version and Steps (or a "
        "describe-pipeline response with PipelineDefinition), found an object with PipelineArn, "
        "Version"
    )
    assert _message(DefinitionReadError, {"PipelineDefinition": "[]"}) == (
        "d.json: $.PipelineDefinition: not a pipeline definition: expected an object with "
        "Version and Steps (or a describe-pipeline response with PipelineDefinition), found a list"
    )


def test_unknown_step_type_names_step_and_path() -> None:
    raw = sdk_definition()
    raw["Steps"][3]["Arguments"]["IfSteps"][2]["Arguments"]["IfSteps"][0]["Type"] = "Transfrom"
    assert _message(UnknownStepTypeError, raw) == (
        "d.json: $.Steps[3].Arguments.IfSteps[2].Arguments.IfSteps[0].Type: step 'BatchScore' "
        "has type 'Transfrom', which is not a step type sagepipe knows; known: Processing, "
        "Training, Model, CreateModel, RegisterModel, Transform, EndpointConfig, Endpoint, "
        "Condition, Fail, Lambda, EMR, Callback, ClarifyCheck, QualityCheck, Tuning, AutoML, "
        "NotebookJob"
    )


def test_steps_with_no_local_meaning_are_all_listed() -> None:
    raw = sdk_definition()
    lambda_step = {"Name": "Notify", "Type": "Lambda", "Arguments": {}, "FunctionArn": "arn"}
    raw["Steps"].append(lambda_step)
    raw["Steps"][3]["Arguments"]["ElseSteps"].append(
        {"Name": "Explain", "Type": "ClarifyCheck", "Arguments": {}}
    )
    raw["Steps"].append({"Name": "Tune", "Type": "Tuning", "Arguments": {}})
    assert _message(UnsupportedStepTypeError, raw) == (
        "d.json: refused before anything runs: 3 step(s) of a type with no local meaning: "
        "'Explain' (ClarifyCheck) at $.Steps[3].Arguments.ElseSteps[1]; 'Notify' (Lambda) at "
        "$.Steps[5]; 'Tune' (Tuning) at $.Steps[6]; run this pipeline on SageMaker, or remove "
        "these steps to run the rest locally"
    )
    for step_type in ("EMR", "Callback", "QualityCheck", "AutoML", "NotebookJob"):
        raw = sdk_definition()
        raw["Steps"].append({"Name": "Other", "Type": step_type})
        assert f"'Other' ({step_type}) at $.Steps[5]" in _message(UnsupportedStepTypeError, raw)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d.update(Version="2021-01-01"),
            "d.json: $.Version: Input should be '2020-12-01', not a string '2021-01-01'",
        ),
        (
            lambda d: d["Steps"][1].pop("Arguments"),
            "d.json: $.Steps[1].Arguments: is required",
        ),
        (
            lambda d: d["Steps"][1].update(Retries=3),
            "d.json: $.Steps[1].Retries: is not a key SageMaker's schema allows here",
        ),
        (
            lambda d: d["Steps"][0]["CacheConfig"].update(Enabled="yes"),
            "d.json: $.Steps[0].CacheConfig.Enabled: Input should be a valid boolean, not a "
            "string 'yes'",
        ),
        (
            lambda d: d["Steps"][3]["Arguments"]["Conditions"][0].update(Type="AtLeast"),
            "d.json: $.Steps[3].Arguments.Conditions[0]: Input tag 'AtLeast' found using 'Type' "
            "does not match any of the expected tags: 'Equals', 'GreaterThan', "
            "'GreaterThanOrEqualTo', 'LessThan', 'LessThanOrEqualTo', 'In', 'Not', 'Or'",
        ),
        (
            lambda d: d["Steps"][3]["Arguments"]["IfSteps"][2]["Arguments"]["Conditions"][0][
                "Conditions"
            ][1]["Expression"].pop("Values"),
            "d.json: $.Steps[3].Arguments.IfSteps[2].Arguments.Conditions[0].Conditions[1]"
            ".Expression.Values: is required",
        ),
        (
            lambda d: d["Steps"][3]["Arguments"]["IfSteps"][2]["Arguments"]["Conditions"][0][
                "Conditions"
            ][1].update(Condition={"Type": "Equals", "LeftValue": 1, "RightValue": 1}),
            "d.json: $.Steps[3].Arguments.IfSteps[2].Arguments.Conditions[0].Conditions[1]: a Not "
            "condition has exactly one of Condition or Expression",
        ),
        (
            lambda d: d["Parameters"][2].update(DefaultValue="10"),
            "d.json: $.Parameters[2]: parameter 'Epochs' is Integer but its DefaultValue '10' "
            "is not",
        ),
        (
            lambda d: d["Parameters"][4].update(DefaultValue=0),
            "d.json: $.Parameters[4]: parameter 'RunBatch' is Boolean but its DefaultValue 0 "
            "is not",
        ),
        (
            lambda d: d["Parameters"][5].update(DefaultValue="Rejected"),
            "d.json: $.Parameters[5]: parameter 'ModelApprovalStatus': DefaultValue 'Rejected' "
            "is not one of its EnumValues PendingManualApproval, Approved",
        ),
        (
            lambda d: d["Steps"][2]["PropertyFiles"][0].pop("FilePath"),
            "d.json: $.Steps[2].PropertyFiles[0].FilePath: is required",
        ),
        (
            lambda d: d["Steps"][1].update(Name="train step"),
            "d.json: $.Steps[1].Name: String should match pattern '^[A-Za-z0-9\\-_]{1,64}$', not "
            "a string 'train step'",
        ),
    ],
)
def test_schema_problems_name_the_json_path(change: Any, expected: str) -> None:
    raw = sdk_definition()
    change(raw)
    assert _message(DefinitionReadError, raw) == expected


def test_several_problems_are_counted_on_one_line() -> None:
    raw = sdk_definition()
    raw["Steps"][1].pop("Arguments")
    raw["Steps"][2].pop("Arguments")
    assert _message(DefinitionReadError, raw) == (
        "d.json: $.Steps[1].Arguments: is required (and 1 more problem(s))"
    )


def test_parameters_of_every_type_and_optional_default() -> None:
    raw = sdk_definition()
    raw["Parameters"].append({"Name": "Given", "Type": "Float"})
    raw["Parameters"][3]["DefaultValue"] = 1  # a Float may be written as an integer
    definition = definition_from_json(raw, source="d.json")
    defaults = {p.Name: p.DefaultValue for p in definition.Parameters}
    assert defaults == {
        "ProcessingInstanceCount": 1,
        "InputData": "s3://sdk-bucket/raw",
        "Epochs": 10,
        "AccuracyThreshold": 1,
        "RunBatch": False,
        "ModelApprovalStatus": "PendingManualApproval",
        "Given": None,
    }
