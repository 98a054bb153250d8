"""Evaluating conditions: every ConditionType, SageMaker's comparison rules, Std:JsonGet
through a property file reader."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from sagepipe.local.definition.conditions import evaluate_conditions, values_equal
from sagepipe.local.definition.errors import ConditionEvaluationError, JsonPathError
from sagepipe.local.definition.model import AnyCondition
from sagepipe.local.definition.reading import definition_from_json
from sagepipe.local.errors import ExpressionEvaluationError
from sagepipe.local.evaluation import EvaluationContext

from .sdk_shaped import sdk_definition

REPORT = {"metrics": {"accuracy": {"value": 0.82}, "per_class": [{"f1": 0.5}, {"f1": 0.9}]}}
PARSE: TypeAdapter[AnyCondition] = TypeAdapter(AnyCondition)


def _context(**parameters: Any) -> EvaluationContext:
    reads: list[tuple[str, str]] = []

    def read(step: str, name: str) -> Any:
        reads.append((step, name))
        if (step, name) != ("Evaluate", "EvaluationReport"):
            raise ExpressionEvaluationError(f"no property file {name!r} of {step!r}")
        return REPORT

    return EvaluationContext(
        parameters={"Threshold": 0.8, "Name": "prod", "Flag": True, **parameters},
        properties={"Train": {"FinalMetricDataList": [{"MetricName": "loss", "Value": 0.25}]}},
        execution={"PipelineName": "demo"},
        property_file=read,
    )


def _holds(raw: dict[str, Any], context: EvaluationContext | None = None) -> bool:
    return evaluate_conditions([PARSE.validate_python(raw)], context or _context(), "step 'c'")


def _json_get(path: str) -> dict[str, Any]:
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
            "Path": path,
        }
    }


def _compare(kind: str, left: Any, right: Any) -> bool:
    return _holds({"Type": kind, "LeftValue": left, "RightValue": right})


@pytest.mark.parametrize(
    ("kind", "left", "right", "expected"),
    [
        ("GreaterThan", 2, 1, True),
        ("GreaterThan", 1, 1, False),
        ("GreaterThanOrEqualTo", 1, 1.0, True),
        ("GreaterThanOrEqualTo", 0.5, 1, False),
        ("LessThan", 1, 2.5, True),
        ("LessThan", 2, 2, False),
        ("LessThanOrEqualTo", 2, 2, True),
        ("LessThanOrEqualTo", 3, 2, False),
        ("GreaterThan", "2026-12-06T10:00:00Z", "2026-12-06T09:59:59Z", True),
        ("LessThan", "abc", "abd", True),
        ("Equals", 1, 1.0, True),
        ("Equals", "a", "a", True),
        ("Equals", "1", 1, False),
        ("Equals", True, 1, False),
        ("Equals", False, False, True),
        ("Equals", [1], [1], True),
    ],
)
def test_comparisons(kind: str, left: Any, right: Any, expected: bool) -> None:
    assert _compare(kind, left, right) is expected


def test_operands_are_evaluated_first() -> None:
    threshold = {"Get": "Parameters.Threshold"}
    accuracy = _json_get("metrics.accuracy.value")
    assert _compare("GreaterThanOrEqualTo", accuracy, threshold) is True
    assert (
        _holds(
            {"Type": "GreaterThanOrEqualTo", "LeftValue": accuracy, "RightValue": threshold},
            _context(Threshold=0.9),
        )
        is False
    )
    assert _compare("Equals", _json_get("metrics.per_class[1].f1"), 0.9) is True
    assert _compare("LessThan", {"Get": "Steps.Train.FinalMetricDataList[0].Value"}, 0.3)
    joined = {"Std:Join": {"On": "-", "Values": [{"Get": "Execution.PipelineName"}, "x"]}}
    assert _compare("Equals", joined, "demo-x") is True


def test_in_not_or() -> None:
    name = {"Get": "Parameters.Name"}
    assert _holds({"Type": "In", "QueryValue": name, "Values": ["dev", "prod"]}) is True
    assert _holds({"Type": "In", "QueryValue": 1, "Values": ["1", True, 1.0]}) is True
    assert _holds({"Type": "In", "QueryValue": 1, "Values": ["1", True]}) is False
    false = {"Type": "Equals", "LeftValue": 1, "RightValue": 2}
    true = {"Type": "Equals", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": True}
    # SDK 2.2xx writes the negated condition under "Condition", earlier SDKs "Expression".
    assert _holds({"Type": "Not", "Condition": false}) is True
    assert _holds({"Type": "Not", "Expression": false}) is True
    assert _holds({"Type": "Not", "Condition": true}) is False
    assert _holds({"Type": "Or", "Conditions": [false, true]}) is True
    assert _holds({"Type": "Or", "Conditions": [false, false]}) is False
    assert _holds({"Type": "Or", "Conditions": []}) is False
    nested = {
        "Type": "Not",
        "Expression": {
            "Type": "Or",
            "Conditions": [
                false,
                {"Type": "In", "QueryValue": {"Get": "Execution.PipelineName"}, "Values": ["demo"]},
            ],
        },
    }
    assert _holds(nested) is False


def test_all_conditions_of_a_step_must_hold() -> None:
    raw = sdk_definition()
    definition = definition_from_json(raw, source="d.json")
    check = definition.Steps[3]
    assert check.Type == "Condition"
    context = _context(AccuracyThreshold=0.8)
    assert evaluate_conditions(check.Arguments.Conditions, context, "step 'CheckAccuracy'")
    context = _context(AccuracyThreshold=0.9)
    assert not evaluate_conditions(check.Arguments.Conditions, context, "step 'CheckAccuracy'")
    both = [PARSE.validate_python({"Type": "Equals", "LeftValue": 1, "RightValue": 1})] * 2
    assert evaluate_conditions(both, _context(), "step 'c'")
    mixed = [*both, PARSE.validate_python({"Type": "Equals", "LeftValue": 1, "RightValue": 0})]
    assert not evaluate_conditions(mixed, _context(), "step 'c'")


def test_values_that_cannot_be_ordered() -> None:
    with pytest.raises(ConditionEvaluationError) as caught:
        _compare("GreaterThan", {"Get": "Parameters.Name"}, 1)
    assert str(caught.value) == (
        "step 'c' Arguments.Conditions[0]: GreaterThan compares two numbers or two strings; "
        "LeftValue is a string ('prod') and RightValue is a number (1)"
    )
    with pytest.raises(ConditionEvaluationError, match=r"LeftValue is a boolean \(True\)"):
        _compare("LessThan", True, 2)
    with pytest.raises(ConditionEvaluationError, match=r"Conditions\[0\]\.Condition:"):
        _holds(
            {"Type": "Not", "Condition": {"Type": "LessThan", "LeftValue": "a", "RightValue": 1}}
        )
    with pytest.raises(ConditionEvaluationError, match=r"Conditions\[0\]\.Expression:"):
        _holds(
            {"Type": "Not", "Expression": {"Type": "LessThan", "LeftValue": None, "RightValue": 1}}
        )


def test_json_get_problems_name_the_path() -> None:
    with pytest.raises(JsonPathError) as caught:
        _compare("Equals", _json_get("metrics.recall.value"), 1)
    assert str(caught.value) == (
        "step 'c' Arguments.Conditions[0].LeftValue (property file 'EvaluationReport' of "
        "'Evaluate'): JSON path 'metrics.recall.value': $.metrics has no key 'recall' (it has: "
        "accuracy, per_class)"
    )
    with pytest.raises(JsonPathError, match=r"\$\.metrics\.per_class is a list of 2, it has no"):
        _compare("Equals", _json_get("metrics.per_class[2].f1"), 1)
    broken = {"Std:JsonGet": {"PropertyFile": "EvaluationReport", "Path": "a"}}
    with pytest.raises(ExpressionEvaluationError, match="Std:JsonGet needs"):
        _compare("Equals", broken, 1)


def test_values_equal_is_symmetric() -> None:
    pairs = [(1, 1.0), ("1", 1), (True, 1), (None, None), ({"a": 1}, {"a": 1.0})]
    for left, right in pairs:
        assert values_equal(left, right) == values_equal(right, left)
