"""The dependency graph and the execution order: Get, DependsOn and branch edges, condition
branches not run, cycles."""

from __future__ import annotations

from typing import Any

import pytest

from sagepipe.local.definition.errors import DefinitionCheckError
from sagepipe.local.definition.graph import DefinitionGraph, ExecutionOrder
from sagepipe.local.definition.reading import definition_from_json

from .sdk_shaped import sdk_definition

UP_TO_THE_CONDITION = ("Preprocess", "Train", "Evaluate", "Report", "CheckAccuracy")


def _graph(raw: dict[str, Any] | None = None) -> DefinitionGraph:
    return DefinitionGraph(definition_from_json(raw or sdk_definition(), source="d.json"))


def _run(order: ExecutionOrder, outcomes: dict[str, bool]) -> list[tuple[str, ...]]:
    """Run every ready step at once, choosing the given condition outcomes."""
    waves: list[tuple[str, ...]] = []
    while order.is_active():
        ready = order.get_ready()
        if not ready:
            break
        waves.append(ready)
        for name in ready:
            if name in outcomes:
                order.choose(name, outcomes[name])
        order.done(*ready)
    return waves


def test_edges_from_get_join_json_get_depends_on_and_branches() -> None:
    graph = _graph()
    assert graph.dependencies == {
        "Preprocess": frozenset(),
        # Outputs['train'] read in InputDataConfig
        "Train": frozenset({"Preprocess"}),
        # the model (Get) and the test split
        "Evaluate": frozenset({"Train", "Preprocess"}),
        # Std:JsonGet's PropertyFile, in a condition operand
        "CheckAccuracy": frozenset({"Evaluate"}),
        "Register": frozenset({"CheckAccuracy", "Train"}),
        "CreateModel": frozenset({"CheckAccuracy", "Train"}),
        # a nested condition runs after its own condition
        "CheckBatch": frozenset({"CheckAccuracy"}),
        "BatchScore": frozenset({"CheckBatch", "CreateModel"}),
        "AccuracyTooLow": frozenset({"CheckAccuracy"}),
        # DependsOn only
        "Report": frozenset({"Train"}),
    }
    assert graph.branch("CheckAccuracy", "IfSteps") == ("Register", "CreateModel", "CheckBatch")
    assert graph.branch("CheckAccuracy", "ElseSteps") == ("AccuracyTooLow",)


def test_a_join_of_a_step_property_is_an_edge() -> None:
    raw = sdk_definition()
    raw["Steps"][4]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {
        "Std:Join": {
            "On": "/",
            "Values": [{"Get": "Steps.Evaluate.ProcessingJobName"}, "x"],
        }
    }
    assert _graph(raw).dependencies["Report"] == frozenset({"Train", "Evaluate"})


def test_order_when_the_conditions_hold() -> None:
    order = _graph().order()
    waves = _run(order, {"CheckAccuracy": True, "CheckBatch": True})
    assert waves == [
        ("Preprocess",),
        ("Train",),
        ("Evaluate", "Report"),
        ("CheckAccuracy",),
        ("CheckBatch", "CreateModel", "Register"),
        ("BatchScore",),
    ]
    assert order.passed_over == ("AccuracyTooLow",)
    assert not order.is_active()


def test_the_else_branch_and_everything_after_the_if_branch_are_not_run() -> None:
    order = _graph().order()
    waves = _run(order, {"CheckAccuracy": False})
    assert waves[-1] == ("AccuracyTooLow",)
    assert [name for wave in waves for name in wave] == [*UP_TO_THE_CONDITION, "AccuracyTooLow"]
    # The nested condition's steps are not run because their condition is not.
    assert set(order.passed_over) == {"Register", "CreateModel", "CheckBatch", "BatchScore"}
    assert not order.is_active()


def test_a_nested_else_branch_with_a_step_outside_that_reads_it() -> None:
    raw = sdk_definition()
    # A top-level step reading the batch transform's output is not run when it is not.
    raw["Steps"].append(
        {
            "Name": "Publish",
            "Type": "Processing",
            "Arguments": raw["Steps"][4]["Arguments"] | {"ProcessingInputs": []},
            "DependsOn": ["BatchScore"],
        }
    )
    order = _graph(raw).order()
    waves = _run(order, {"CheckAccuracy": True, "CheckBatch": False})
    assert ("BatchScore",) not in waves
    assert set(order.passed_over) == {"AccuracyTooLow", "BatchScore", "Publish"}


def test_static_order_puts_each_step_after_its_dependencies() -> None:
    order = _graph().static_order()
    assert order == (
        *UP_TO_THE_CONDITION,
        "AccuracyTooLow",
        "CheckBatch",
        "CreateModel",
        "Register",
        "BatchScore",
    )


def test_not_run_marks_dependents_too() -> None:
    order = _graph().order()
    order.not_run(["Train"])
    assert order.get_ready() == ("Preprocess",)
    order.done("Preprocess")
    # Train is passed over; so is everything that reads it, down to the condition's steps.
    assert order.get_ready() == ()
    assert not order.is_active()
    assert order.passed_over[0] == "Train"
    assert set(order.passed_over) == set(_graph().steps) - {"Preprocess"}


def test_a_cycle_is_refused_when_ordering() -> None:
    raw = sdk_definition()
    raw["Steps"][1]["DependsOn"] = ["Report"]
    graph = _graph(raw)
    assert graph.cycle() == ["Train", "Report", "Train"]
    with pytest.raises(DefinitionCheckError) as caught:
        graph.order()
    assert str(caught.value) == (
        "the steps form a dependency cycle: Train -> Report -> Train; remove one of these "
        "dependencies (a Get, a DependsOn or a condition branch)"
    )


def test_an_edge_to_a_missing_step_is_refused() -> None:
    raw = sdk_definition()
    raw["Steps"][4]["DependsOn"] = ["Ghost"]
    with pytest.raises(DefinitionCheckError) as caught:
        _graph(raw)
    assert str(caught.value) == (
        "step 'Report' (Steps[4]) depends on 'Ghost', which is not a step of the definition"
    )


def test_branch_of_a_step_that_is_not_a_condition() -> None:
    with pytest.raises(DefinitionCheckError, match="step 'Train' is not a Condition step"):
        _graph().branch("Train", "IfSteps")
