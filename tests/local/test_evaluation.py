"""Expression evaluation against parameters, step properties and execution variables."""

from __future__ import annotations

import pytest

from sagepipe.local.errors import ExpressionEvaluationError
from sagepipe.local.evaluation import EvaluationContext, evaluate, property_tokens

PROCESSING = {
    "ProcessingOutputConfig": {
        "Outputs": {"processed_data": {"S3Output": {"S3Uri": "s3://b/exec/prep/processed"}}}
    }
}
TRAINING = {"ModelArtifacts": {"S3ModelArtifacts": "s3://b/exec/train/model.tar.gz"}}


@pytest.fixture
def context() -> EvaluationContext:
    return EvaluationContext(
        parameters={"InputData": "s3://b/raw", "Epochs": 3, "Fast": True},
        properties={"prep": PROCESSING, "train": TRAINING},
        execution={"PipelineExecutionId": "abc123def456", "PipelineName": "demo"},
    )


def test_parameters_properties_and_execution_variables(context: EvaluationContext) -> None:
    value = {
        "source": {"Get": "Parameters.InputData"},
        "epochs": {"Get": "Parameters.Epochs"},
        "data": {
            "Get": "Steps.prep.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
        },
        "model": [{"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}],
        "id": {"Get": "Execution.PipelineExecutionId"},
        "plain": {"keep": 1},
    }
    assert evaluate(value, context, "here") == {
        "source": "s3://b/raw",
        "epochs": 3,
        "data": "s3://b/exec/prep/processed",
        "model": ["s3://b/exec/train/model.tar.gz"],
        "id": "abc123def456",
        "plain": {"keep": 1},
    }


def test_join_turns_values_into_text(context: EvaluationContext) -> None:
    join = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3://b",
                {"Get": "Execution.PipelineName"},
                {"Get": "Parameters.Epochs"},
                {"Get": "Parameters.Fast"},
            ],
        }
    }
    assert evaluate(join, context, "here") == "s3://b/demo/3/true"


def test_unknown_parameter_names_where_and_suggests(context: EvaluationContext) -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate({"Get": "Parameters.InputDta"}, context, "step 'prep' input 'raw'")
    message = str(info.value)
    assert "step 'prep' input 'raw'" in message
    assert "Parameters.InputDta" in message
    assert "did you mean 'InputData'" in message


def test_step_without_properties_is_named(context: EvaluationContext) -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate({"Get": "Steps.evaluate.ModelArtifacts.S3ModelArtifacts"}, context, "step 'x'")
    assert "step 'evaluate' has no recorded properties" in str(info.value)


def test_missing_property_lists_what_exists(context: EvaluationContext) -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        evaluate(
            {"Get": "Steps.prep.ProcessingOutputConfig.Outputs['other'].S3Output.S3Uri"},
            context,
            "step 'train' input 'input_path'",
        )
    message = str(info.value)
    assert "step 'train' input 'input_path'" in message
    assert "no property 'other'" in message
    assert "processed_data" in message


def test_unknown_execution_variable(context: EvaluationContext) -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"Execution\.Nope"):
        evaluate({"Get": "Execution.Nope"}, context, "here")


def test_step_value_hook_sees_property_values(context: EvaluationContext) -> None:
    hooked = EvaluationContext(
        parameters=context.parameters,
        properties=context.properties,
        step_value=lambda value: f"digest-of:{value}",
    )
    value = {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert evaluate(value, hooked, "here") == "digest-of:s3://b/exec/train/model.tar.gz"


def test_property_tokens() -> None:
    assert property_tokens("ProcessingOutputConfig.Outputs['a-b.c'].S3Output.S3Uri") == [
        "ProcessingOutputConfig",
        "Outputs",
        "a-b.c",
        "S3Output",
        "S3Uri",
    ]
    with pytest.raises(ExpressionEvaluationError):
        property_tokens("Outputs[oops]")


def test_property_tokens_index_a_list(context: EvaluationContext) -> None:
    assert property_tokens("FinalMetricDataList[0].Value") == ["FinalMetricDataList", 0, "Value"]
    metrics = {"FinalMetricDataList": [{"MetricName": "loss", "Value": 0.5}]}
    indexed = EvaluationContext(parameters={}, properties={"train": metrics})
    value = {"Get": "Steps.train.FinalMetricDataList[0].Value"}
    assert evaluate(value, indexed, "here") == 0.5
    with pytest.raises(ExpressionEvaluationError, match=r"has no property 1"):
        evaluate({"Get": "Steps.train.FinalMetricDataList[1].Value"}, indexed, "here")


def test_json_get_reads_a_property_file_through_the_reader() -> None:
    value = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.eval.PropertyFiles.Report"},
            "Path": "metrics.mse.value",
        }
    }
    read: list[tuple[str, str]] = []

    def reader(step: str, name: str) -> object:
        read.append((step, name))
        return {"metrics": {"mse": {"value": 1.5}}}

    with_files = EvaluationContext(parameters={}, property_file=reader)
    joined = {"Std:Join": {"On": "=", "Values": ["mse", value]}}
    assert evaluate(joined, with_files, "here") == "mse=1.5"
    assert read == [("eval", "Report")]
