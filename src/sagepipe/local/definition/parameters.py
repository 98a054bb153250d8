"""Bind an execution's parameter values: ``--param NAME=VALUE`` strings over the defaults."""

from __future__ import annotations

from collections.abc import Mapping

from sagepipe.errors import PipelineDefinitionError, did_you_mean
from sagepipe.expressions import coerce_parameter_value
from sagepipe.local.definition.errors import ParameterValueError
from sagepipe.local.definition.model import Definition

ParameterValue = str | int | float | bool


def bind_parameters(definition: Definition, given: Mapping[str, str]) -> dict[str, ParameterValue]:
    """Every declared parameter's value: the given text converted to its ``Type``, or its
    ``DefaultValue``.

    Args:
        definition: The definition whose ``Parameters`` are bound.
        given: Values by name, as text (``{"Epochs": "3"}``).

    Raises:
        ParameterValueError: An unknown name (the message lists the known ones), a value that
            is not of the parameter's type or not one of its ``EnumValues``, or a parameter
            without a default that is not given.
    """
    declared = {p.Name: p for p in definition.Parameters}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ParameterValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}"
            f"{did_you_mean(unknown[0], declared)}; the definition declares: "
            f"{', '.join(sorted(declared)) or 'no parameters'}"
        )
    bound: dict[str, ParameterValue] = {}
    for name, parameter in declared.items():
        if name in given:
            try:
                value = coerce_parameter_value(name, parameter.Type, given[name])
            except PipelineDefinitionError as exc:
                raise ParameterValueError(f"{exc} (--param {name}=...)") from None
            if parameter.EnumValues is not None and value not in parameter.EnumValues:
                raise ParameterValueError(
                    f"parameter {name!r} is one of {', '.join(parameter.EnumValues)}; "
                    f"{value!r} is not"
                )
            bound[name] = value
        elif parameter.DefaultValue is not None:
            bound[name] = parameter.DefaultValue
        else:
            raise ParameterValueError(
                f"parameter {name!r} ({parameter.Type}) has no DefaultValue; give it a value "
                f"with --param {name}=VALUE"
            )
    return bound
