"""Evaluate a condition step's ``Conditions`` over an execution's values.

Operands are evaluated first (:func:`sagepipe.local.evaluation.evaluate`: parameters,
``Get`` of step properties and execution variables, ``Std:Join``, and ``Std:JsonGet`` through
the context's property file reader), then compared:

* the step's ``Conditions`` all hold (SageMaker ANDs them); ``Or`` holds when one of its
  ``Conditions`` does, ``Not`` when its ``Condition`` (``Expression`` in earlier SDKs) does
  not;
* ``Equals`` (and ``In``, which is ``Equals`` against each of ``Values``): numbers compare by
  value (``1`` equals ``1.0``); other values are equal only when of the same JSON type and
  equal (``"1"`` is not ``1``, ``true`` is not ``1``);
* ``GreaterThan``, ``GreaterThanOrEqualTo``, ``LessThan``, ``LessThanOrEqualTo``: two numbers
  by value, or two strings in code point order (ISO 8601 times compare as times); any other
  pair is an error naming both values, never a silent ``false``.

Nothing is converted from text: a ``String`` parameter holding ``"0.8"`` is a string, as the
SDK's typed parameters and SageMaker have it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sagepipe.local.definition.errors import ConditionEvaluationError
from sagepipe.local.definition.model import (
    AnyCondition,
    Comparison,
    InCondition,
    NotCondition,
    OrCondition,
)
from sagepipe.local.evaluation import EvaluationContext, evaluate

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}


def evaluate_conditions(
    conditions: Sequence[AnyCondition], context: EvaluationContext, where: str
) -> bool:
    """Whether all of a condition step's ``Conditions`` hold (every one is evaluated, so an
    error in any of them is reported).

    Args:
        conditions: The step's ``Arguments.Conditions``.
        context: The values the operands can read.
        where: The step, for messages (``step 'check'``).

    Raises:
        ExpressionEvaluationError: An operand cannot be evaluated.
        ConditionEvaluationError: Two values that cannot be ordered are compared.
    """
    results = [
        evaluate_condition(condition, context, f"{where} Arguments.Conditions[{index}]")
        for index, condition in enumerate(conditions)
    ]
    return all(results)


def evaluate_condition(condition: AnyCondition, context: EvaluationContext, where: str) -> bool:
    """Whether one condition holds (see :func:`evaluate_conditions`)."""
    if isinstance(condition, NotCondition):
        key = "Condition" if condition.Condition is not None else "Expression"
        return not evaluate_condition(condition.negated, context, f"{where}.{key}")
    if isinstance(condition, OrCondition):
        results = [
            evaluate_condition(inner, context, f"{where}.Conditions[{index}]")
            for index, inner in enumerate(condition.Conditions)
        ]
        return any(results)
    if isinstance(condition, InCondition):
        query = evaluate(condition.QueryValue, context, f"{where}.QueryValue")
        values = evaluate(list(condition.Values), context, f"{where}.Values")
        return any(values_equal(query, value) for value in values)
    return _compare(condition, context, where)


def values_equal(left: Any, right: Any) -> bool:
    """``Equals``: numbers by value, anything else by JSON type and value."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _compare(condition: Comparison, context: EvaluationContext, where: str) -> bool:
    left = evaluate(condition.LeftValue, context, f"{where}.LeftValue")
    right = evaluate(condition.RightValue, context, f"{where}.RightValue")
    if condition.Type == "Equals":
        return values_equal(left, right)
    both_numbers = _is_number(left) and _is_number(right)
    if not (both_numbers or (isinstance(left, str) and isinstance(right, str))):
        raise ConditionEvaluationError(
            f"{where}: {condition.Type} compares two numbers or two strings; "
            f"LeftValue is {_describe(left)} and RightValue is {_describe(right)}"
        )
    return _ORDER[condition.Type](left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    kind = "a number" if _is_number(value) else _JSON_KINDS.get(type(value), "an object")
    return f"{kind} ({value!r})"


_JSON_KINDS = {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}
