"""Expressions: JSON forms as in SageMaker definitions, and their exact inverse."""

from __future__ import annotations

import pytest

from sagepipe.errors import PipelineDefinitionError
from sagepipe.expressions import (
    ExecutionVariable,
    ExecutionVariables,
    Join,
    ParameterString,
    PropertyRef,
    from_json,
    parameters_in,
    step_names,
    to_json,
)

BUCKET = ParameterString("Bucket", "my-bucket")


def test_join_json_and_references() -> None:
    join = Join(
        on="/",
        values=[
            "s3:/",
            BUCKET,
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            PropertyRef("train", "ModelArtifacts.S3ModelArtifacts"),
        ],
    )
    assert join.to_json() == {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                {"Get": "Parameters.Bucket"},
                {"Get": "Execution.PipelineExecutionId"},
                {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"},
            ],
        }
    }
    assert join.step_names() == frozenset({"train"})
    assert join.parameters() == (BUCKET,)


def test_execution_variables() -> None:
    assert ExecutionVariables.START_DATETIME.to_json() == {"Get": "Execution.StartDateTime"}
    with pytest.raises(PipelineDefinitionError, match="unknown execution variable 'Now'"):
        ExecutionVariable("Now")


def test_from_json_is_the_inverse_of_to_json() -> None:
    value = {
        "a": [BUCKET, Join(on="-", values=["x", ExecutionVariables.PIPELINE_NAME])],
        "b": PropertyRef("prep", "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"),
        "c": 3,
    }
    rebuilt = from_json(to_json(value), {"Bucket": BUCKET})
    assert rebuilt == value
    assert to_json(rebuilt) == to_json(value)
    assert step_names(rebuilt) == frozenset({"prep"})
    assert parameters_in(rebuilt) == (BUCKET,)


def test_from_json_rejects_undeclared_parameters_with_a_suggestion() -> None:
    with pytest.raises(
        PipelineDefinitionError,
        match=r"'Buckt' is used but not declared \(did you mean 'Bucket'\?\)",
    ):
        from_json({"Get": "Parameters.Buckt"}, {"Bucket": BUCKET})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Get": "Variables.X"}, "must start with Parameters., Steps. or Execution."),
        ({"Get": "Steps.onlystep"}, "cannot read step reference"),
        ({"Std:Join": {"On": 1, "Values": []}}, "Std:Join needs"),
    ],
)
def test_from_json_errors(value: object, message: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=message):
        from_json(value, {})  # type: ignore[arg-type]


def test_to_json_rejects_values_that_cannot_be_serialised() -> None:
    with pytest.raises(PipelineDefinitionError, match="cannot be part of a pipeline"):
        to_json({"a": object()})
