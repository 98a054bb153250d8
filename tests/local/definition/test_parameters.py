"""Binding ``--param NAME=VALUE`` values to a definition's typed parameters."""

from __future__ import annotations

import pytest

from sagepipe.local.definition.errors import ParameterValueError
from sagepipe.local.definition.model import Definition
from sagepipe.local.definition.parameters import bind_parameters
from sagepipe.local.definition.reading import definition_from_json

from .sdk_shaped import sdk_definition

DEFAULTS = {
    "ProcessingInstanceCount": 1,
    "InputData": "s3://sdk-bucket/raw",
    "Epochs": 10,
    "AccuracyThreshold": 0.7,
    "RunBatch": False,
    "ModelApprovalStatus": "PendingManualApproval",
}


def _definition(extra: list[dict[str, object]] | None = None) -> Definition:
    raw = sdk_definition()
    raw["Parameters"].extend(extra or [])
    return definition_from_json(raw, source="d.json")


def test_defaults_and_every_type_converted() -> None:
    definition = _definition()
    assert bind_parameters(definition, {}) == DEFAULTS
    bound = bind_parameters(
        definition,
        {
            "Epochs": "3",
            "AccuracyThreshold": "0.85",
            "RunBatch": "TRUE",
            "InputData": "s3://other/raw",
            "ModelApprovalStatus": "Approved",
        },
    )
    assert bound == {
        **DEFAULTS,
        "Epochs": 3,
        "AccuracyThreshold": 0.85,
        "RunBatch": True,
        "InputData": "s3://other/raw",
        "ModelApprovalStatus": "Approved",
    }
    assert type(bound["Epochs"]) is int and type(bound["AccuracyThreshold"]) is float


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"Epochs": "3.5"}, "parameter 'Epochs' is Integer; '3.5' is not one (--param Epochs=...)"),
        (
            {"AccuracyThreshold": "high"},
            "parameter 'AccuracyThreshold' is Float; 'high' is not one "
            "(--param AccuracyThreshold=...)",
        ),
        (
            {"RunBatch": "1"},
            "parameter 'RunBatch' is Boolean; use true or false, not '1' (--param RunBatch=...)",
        ),
        (
            {"ModelApprovalStatus": "Rejected"},
            "parameter 'ModelApprovalStatus' is one of PendingManualApproval, Approved; "
            "'Rejected' is not",
        ),
        (
            {"epochs": "3", "Zzz": "1"},
            "unknown parameter(s) 'Zzz', 'epochs'; the definition declares: AccuracyThreshold, "
            "Epochs, InputData, ModelApprovalStatus, ProcessingInstanceCount, RunBatch",
        ),
    ],
)
def test_bad_values(given: dict[str, str], expected: str) -> None:
    with pytest.raises(ParameterValueError) as caught:
        bind_parameters(_definition(), given)
    assert str(caught.value) == expected


def test_a_parameter_without_default_must_be_given() -> None:
    definition = _definition([{"Name": "Region", "Type": "String"}])
    with pytest.raises(ParameterValueError) as caught:
        bind_parameters(definition, {})
    assert str(caught.value) == (
        "parameter 'Region' (String) has no DefaultValue; give it a value with --param Region=VALUE"
    )
    assert bind_parameters(definition, {"Region": "eu-west-1"})["Region"] == "eu-west-1"


def test_no_parameters_declared() -> None:
    raw = sdk_definition()
    raw["Parameters"] = []
    raw["Steps"] = raw["Steps"][4:]
    raw["Steps"][0].pop("DependsOn")
    raw["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 1
    with pytest.raises(ParameterValueError) as caught:
        bind_parameters(definition_from_json(raw, source="d.json"), {"X": "1"})
    assert str(caught.value) == "unknown parameter(s) 'X'; the definition declares: no parameters"
