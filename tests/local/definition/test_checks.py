"""Static checks: each problem named with its step, place and field path, on one line."""

from __future__ import annotations

from typing import Any

import pytest

from sagepipe.local.definition.checks import check_definition, definition_problems
from sagepipe.local.definition.errors import DefinitionCheckError
from sagepipe.local.definition.reading import definition_from_json
from sagepipe.sagemaker.validation.arguments import ArgumentChecker
from sagepipe.service_model import STEP_APIS

from .sdk_shaped import sdk_definition


def _problems(raw: dict[str, Any]) -> list[str]:
    return definition_problems(definition_from_json(raw, source="d.json"))


def _train(raw: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = raw["Steps"][1]
    return step


def _channel(raw: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = _train(raw)["Arguments"]["InputDataConfig"][0]["DataSource"]
    return source["S3DataSource"]


REPORT_INPUT = "Arguments.ProcessingInputs[0].S3Input.S3Uri"


def test_the_sdk_shaped_definition_passes() -> None:
    assert _problems(sdk_definition()) == []


def test_the_sdk_shaped_job_steps_are_valid_sagemaker_requests() -> None:
    # The hand-written definition is only worth testing against if its Arguments are what
    # SageMaker accepts: the compiler's validation checks each against botocore's model.
    raw = sdk_definition()
    definition = definition_from_json(raw, source="d.json")
    parameters = {p["Name"]: p for p in raw["Parameters"]}
    types = {p.step.Name: p.step.Type for p in definition.placed_steps()}
    for placed in definition.placed_steps():
        step = placed.step
        if step.Type in ("Condition", "Fail"):
            continue
        checker = ArgumentChecker(step.Name, parameters, types)
        checker.check_request(STEP_APIS[step.Type][0], step.model_dump()["Arguments"])
        assert checker.problems == [], checker.problems


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Url",
            "Get Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Url: a "
            "Processing step has no property 'S3Url' here (did you mean 'S3Uri'?) "
            "(DescribeProcessingJob is what its properties mirror)",
        ),
        (
            "Steps.Preprocess.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri",
            None,
        ),
        (
            "Steps.Preprocess.ProcessingJobName['x']",
            "Get Steps.Preprocess.ProcessingJobName['x']: ProcessingJobName cannot be indexed "
            "(DescribeProcessingJob is what its properties mirror)",
        ),
        (
            "Steps.Preprocess.Outputs[oops]",
            "Get Steps.Preprocess.Outputs[oops]: cannot read the property path "
            "'Outputs[oops]' at position 7 (DescribeProcessingJob is what its properties mirror)",
        ),
        (
            "Steps.Preproces.ProcessingJobArn",
            "Get Steps.Preproces.ProcessingJobArn: step 'Preproces' is not in the definition "
            "(did you mean 'Preprocess'?)",
        ),
        (
            "Steps.Preprocess",
            "Get Steps.Preprocess names no property: use Steps.Preprocess.<property>",
        ),
        (
            "Steps.AccuracyTooLow.ErrorMessage",
            "Get Steps.AccuracyTooLow.ErrorMessage: a Fail step has no properties (it ends the "
            "execution)",
        ),
        (
            "Steps.CheckAccuracy.Result",
            "Get Steps.CheckAccuracy.Result: a Condition step has only the property Outcome, "
            "not 'Result'",
        ),
        ("Steps.CheckAccuracy.Outcome", None),
        ("Steps.Train.FinalMetricDataList['loss'].Value", None),
        ("Steps.Train.HyperParameters['epochs']", None),
        ("Steps.CreateModel.PrimaryContainer.ModelDataUrl", None),
        ("Steps.Register.ModelPackageArn", None),
        (
            "Steps.Register.ModelArtifacts",
            "Get Steps.Register.ModelArtifacts: a RegisterModel step has no property "
            "'ModelArtifacts' here (did you mean 'ModelMetrics'?) (DescribeModelPackage is what "
            "its properties mirror)",
        ),
        ("Steps.BatchScore.TransformOutput.S3OutputPath", None),
        (
            "Steps.Evaluate.PropertyFiles.Report",
            "Get Steps.Evaluate.PropertyFiles.Report: step 'Evaluate' declares no property "
            "file 'Report'; it declares: EvaluationReport",
        ),
        (
            "Parameters.epochs",
            "Get Parameters.epochs: parameter 'epochs' is not declared (did you mean 'Epochs'?);"
            " declared: AccuracyThreshold, Epochs, InputData, ModelApprovalStatus, "
            "ProcessingInstanceCount, RunBatch",
        ),
        (
            "Execution.ExecutionId",
            "Get Execution.ExecutionId: 'ExecutionId' is not an execution variable (did you mean "
            "'PipelineExecutionId'?); SageMaker defines: CurrentDateTime, PipelineArn, "
            "PipelineExecutionArn, PipelineExecutionId, PipelineName, StartDateTime",
        ),
        ("Execution.StartDateTime", None),
        (
            "Pipeline.Name",
            "Get Pipeline.Name must start with Parameters., Steps. or Execution.",
        ),
    ],
)
def test_get_references(reference: str, expected: str | None) -> None:
    raw = sdk_definition()
    # The Report step: no other step depends on it, so any step may be read.
    raw["Steps"][4]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {"Get": reference}
    found = _problems(raw)
    if expected is None:
        assert found == []
    else:
        assert found == [f"step 'Report' (Steps[4]): {REPORT_INPUT}: {expected}"]


def test_references_inside_join_json_get_conditions_and_fail_message() -> None:
    raw = sdk_definition()
    _channel(raw)["S3Uri"] = {
        "Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Parameters.Missing"}]}
    }
    check = raw["Steps"][3]
    check["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"] = {
        "Get": "Steps.Evaluate.PropertyFiles.Nope"
    }
    nested = check["Arguments"]["IfSteps"][2]["Arguments"]["Conditions"][0]
    nested["Conditions"][1]["Expression"]["QueryValue"] = {"Get": "Execution.Nope"}
    check["Arguments"]["ElseSteps"][0]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"][1] = {
        "Get": "Steps.Train.ModelArtifacts"
    }
    assert _problems(raw) == [
        "step 'Train' (Steps[1]): Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
        ".Std:Join.Values[1]: Get Parameters.Missing: parameter 'Missing' is not declared; "
        "declared: AccuracyThreshold, Epochs, InputData, ModelApprovalStatus, "
        "ProcessingInstanceCount, RunBatch",
        "step 'CheckAccuracy' (Steps[3]): Arguments.Conditions[0].LeftValue.Std:JsonGet"
        ".PropertyFile: Get Steps.Evaluate.PropertyFiles.Nope: step 'Evaluate' declares no "
        "property file 'Nope'; it declares: EvaluationReport",
        "step 'CheckBatch' (Steps[3].Arguments.IfSteps[2]): Arguments.Conditions[0]"
        ".Conditions[1].Expression.QueryValue: Get Execution.Nope: 'Nope' is not an "
        "execution variable; SageMaker defines: CurrentDateTime, PipelineArn, "
        "PipelineExecutionArn, PipelineExecutionId, PipelineName, StartDateTime",
    ]


def test_json_get_shapes() -> None:
    raw = sdk_definition()
    body = raw["Steps"][3]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]
    body["Path"] = "metrics..accuracy"
    where = "step 'CheckAccuracy' (Steps[3]): Arguments.Conditions[0].LeftValue.Std:JsonGet"
    assert _problems(raw) == [
        f"{where}.Path: JSON path 'metrics..accuracy' cannot be read at position 8: use keys "
        "joined by '.' and [index], e.g. metrics.accuracy.value or results[0].score"
    ]
    body["PropertyFile"] = "EvaluationReport"
    body["Path"] = "metrics.accuracy.value"
    assert _problems(raw) == [
        f"{where}.PropertyFile: must be {{'Get': 'Steps.<step>.PropertyFiles.<name>'}}"
    ]
    del body["Path"]
    assert _problems(raw) == [f"{where}: Std:JsonGet needs exactly PropertyFile and Path"]


def _set_depends_on(raw: dict[str, Any], index: int, names: list[str]) -> None:
    raw["Steps"][index]["DependsOn"] = names


def _duplicate(raw: dict[str, Any]) -> None:
    raw["Steps"][3]["Arguments"]["ElseSteps"][0]["Name"] = "Register"
    raw["Steps"][4]["Name"] = "Preprocess"
    raw["Steps"][4].pop("DependsOn")


CYCLE_FIX = "remove one of these dependencies (a Get, a DependsOn or a condition branch)"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda raw: raw["PipelineExperimentConfig"].update(
                TrialName={"Get": "Execution.TrialName"}
            ),
            [
                "PipelineExperimentConfig.TrialName: Get Execution.TrialName: 'TrialName' is not "
                "an execution variable; SageMaker defines: CurrentDateTime, PipelineArn, "
                "PipelineExecutionArn, PipelineExecutionId, PipelineName, StartDateTime"
            ],
            id="experiment config",
        ),
        pytest.param(
            lambda raw: raw["Steps"][2]["PropertyFiles"][0].update(OutputName="metrics"),
            [
                "step 'Evaluate' (Steps[2]): PropertyFiles[0].OutputName: 'metrics' is not an "
                "output of the step; its outputs: evaluation"
            ],
            id="property file output",
        ),
        pytest.param(
            lambda raw: _set_depends_on(raw, 4, ["Trian", "Report"]),
            [
                "step 'Report' (Steps[4]): DependsOn: 'Trian' is not a step (did you mean "
                "'Train'?)",
                "step 'Report' (Steps[4]): DependsOn: names the step itself",
            ],
            id="depends on",
        ),
        pytest.param(
            _duplicate,
            [
                "step name 'Register' is used twice (Steps[3].Arguments.IfSteps[0] and "
                "Steps[3].Arguments.ElseSteps[0]); step names must be unique, condition branches "
                "included",
                "step name 'Preprocess' is used twice (Steps[0] and Steps[4]); step names must be "
                "unique, condition branches included",
            ],
            id="duplicate names, branches included",
        ),
        pytest.param(
            lambda raw: _set_depends_on(raw, 0, ["Evaluate"]),
            [
                "the steps form a dependency cycle: Preprocess -> Train -> Evaluate -> "
                f"Preprocess; {CYCLE_FIX}"
            ],
            id="cycle",
        ),
        pytest.param(
            lambda raw: raw["Steps"][3]["Arguments"]["Conditions"][0].update(
                RightValue={"Get": "Steps.Register.ModelPackageArn"}
            ),
            [
                "the steps form a dependency cycle: CheckAccuracy -> Register -> CheckAccuracy; "
                + CYCLE_FIX
            ],
            id="a condition reading its own branch",
        ),
    ],
)
def test_problems(change: Any, expected: list[str]) -> None:
    raw = sdk_definition()
    change(raw)
    assert _problems(raw) == expected


def test_check_definition_raises_one_line_with_the_count() -> None:
    raw = sdk_definition()
    raw["Steps"][4]["DependsOn"] = ["Nothing", "Nowhere"]
    with pytest.raises(DefinitionCheckError) as caught:
        check_definition(definition_from_json(raw, source="d.json"))
    assert str(caught.value) == (
        "step 'Report' (Steps[4]): DependsOn: 'Nothing' is not a step (and 1 more problem(s))"
    )
    graph = check_definition(definition_from_json(sdk_definition(), source="d.json"))
    assert set(graph.steps) >= {"Train", "BatchScore", "AccuracyTooLow"}
