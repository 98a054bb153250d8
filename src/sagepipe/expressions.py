"""Pipeline expressions: parameters, step property references, execution variables, joins.

An expression stands for a value known only when the pipeline runs. Each one has a JSON form,
which is exactly the one SageMaker's pipeline definition uses (``{"Get": "Parameters.X"}``,
``{"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}``, ``{"Std:Join": ...}``), so the IR,
the compiler and the local engine all share it.

This is a leaf module (configs use parameters, so it cannot live above ``sagepipe.config``);
``sagepipe.pipeline`` re-exports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

from sagepipe.errors import PipelineDefinitionError, PropertyPathError

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None

ParameterType = Literal["String", "Integer", "Float", "Boolean"]
_PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,255}$")
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (float, int),
    "Boolean": (bool,),
}


class Expression:
    """Base of every runtime value. Subclasses are immutable and hashable."""

    def to_json(self) -> JsonValue:
        raise NotImplementedError

    def step_names(self) -> frozenset[str]:
        """Names of the steps this expression reads from (each one is a dependency)."""
        return frozenset()

    def parameters(self) -> tuple[Parameter, ...]:
        """Parameters this expression reads."""
        return ()


@dataclass(frozen=True)
class Parameter(Expression):
    """A pipeline parameter with a type and a default, usable in any config field.

    Args:
        name: Parameter name as it appears in the definition (``Parameters.<name>``).
        parameter_type: ``String``, ``Integer``, ``Float`` or ``Boolean``.
        default: Value used when an execution does not override it.
    """

    name: str
    parameter_type: ParameterType
    default: str | int | float | bool

    def __post_init__(self) -> None:
        if not _PARAMETER_NAME.match(self.name):
            raise PipelineDefinitionError(
                f"parameter name {self.name!r} is invalid: use a letter followed by letters, "
                "digits or underscores"
            )
        expected = _PYTHON_TYPES[self.parameter_type]
        if self.parameter_type != "Boolean" and isinstance(self.default, bool):
            expected = ()
        if not isinstance(self.default, expected):
            raise PipelineDefinitionError(
                f"parameter {self.name!r} is {self.parameter_type} but its default "
                f"{self.default!r} is a {type(self.default).__name__}"
            )

    def to_json(self) -> JsonValue:
        return {"Get": f"Parameters.{self.name}"}

    def parameters(self) -> tuple[Parameter, ...]:
        return (self,)

    def definition(self) -> dict[str, JsonValue]:
        """The parameter's entry in a pipeline's ``Parameters`` list."""
        return {"Name": self.name, "Type": self.parameter_type, "DefaultValue": self.default}

    def coerce(self, raw: str) -> str | int | float | bool:
        """Convert a command-line value (``--param NAME=VALUE``) to this parameter's type."""
        return coerce_parameter_value(self.name, self.parameter_type, raw)


def coerce_parameter_value(name: str, parameter_type: str, raw: str) -> str | int | float | bool:
    """Convert the text of a parameter value (``--param NAME=VALUE``) to ``parameter_type``.

    Raises:
        PipelineDefinitionError: ``raw`` is not a value of that type.
    """
    try:
        if parameter_type == "Integer":
            return int(raw)
        if parameter_type == "Float":
            return float(raw)
    except ValueError:
        raise PipelineDefinitionError(
            f"parameter {name!r} is {parameter_type}; {raw!r} is not one"
        ) from None
    if parameter_type == "Boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise PipelineDefinitionError(
                f"parameter {name!r} is Boolean; use true or false, not {raw!r}"
            )
        return lowered == "true"
    return raw


def ParameterString(name: str, default: str) -> Parameter:
    """A ``String`` pipeline parameter."""
    return Parameter(name, "String", default)


def ParameterInteger(name: str, default: int) -> Parameter:
    """An ``Integer`` pipeline parameter."""
    return Parameter(name, "Integer", default)


def ParameterFloat(name: str, default: float) -> Parameter:
    """A ``Float`` pipeline parameter."""
    return Parameter(name, "Float", default)


def ParameterBoolean(name: str, default: bool) -> Parameter:
    """A ``Boolean`` pipeline parameter."""
    return Parameter(name, "Boolean", default)


@dataclass(frozen=True)
class ExecutionVariable(Expression):
    """A value SageMaker knows about the running execution (``Execution.<name>``)."""

    name: str
    NAMES: ClassVar[tuple[str, ...]] = (
        "CurrentDateTime",
        "PipelineArn",
        "PipelineExecutionArn",
        "PipelineExecutionId",
        "PipelineName",
        "StartDateTime",
    )

    def __post_init__(self) -> None:
        if self.name not in self.NAMES:
            raise PipelineDefinitionError(
                f"unknown execution variable {self.name!r}; known: {', '.join(self.NAMES)}"
            )

    def to_json(self) -> JsonValue:
        return {"Get": f"Execution.{self.name}"}


class ExecutionVariables:
    """The execution variables, spelled as in the SageMaker SDK."""

    CURRENT_DATETIME = ExecutionVariable("CurrentDateTime")
    START_DATETIME = ExecutionVariable("StartDateTime")
    PIPELINE_NAME = ExecutionVariable("PipelineName")
    PIPELINE_ARN = ExecutionVariable("PipelineArn")
    PIPELINE_EXECUTION_ID = ExecutionVariable("PipelineExecutionId")
    PIPELINE_EXECUTION_ARN = ExecutionVariable("PipelineExecutionArn")


@dataclass(frozen=True)
class PropertyRef(Expression):
    """A reference to a property of a step's SageMaker response, e.g.
    ``Steps.train.ModelArtifacts.S3ModelArtifacts``.

    Navigation (``ref.ModelArtifacts.S3ModelArtifacts``, ``ref.Outputs["name"]``,
    ``ref.Outputs[0]``) is checked
    against the step's property shape, so a typo fails where it is written.
    """

    step_name: str
    path: str
    # The shape node the path points at, used to check navigation; not part of identity.
    shape: Any = field(default=None, compare=False, hash=False, repr=False)

    def to_json(self) -> JsonValue:
        return {"Get": f"Steps.{self.step_name}.{self.path}"}

    def step_names(self) -> frozenset[str]:
        return frozenset({self.step_name})

    def __getattr__(self, name: str) -> PropertyRef:
        if name.startswith("_"):
            raise AttributeError(name)
        from sagepipe.pipeline.properties import navigate_attribute

        return navigate_attribute(self, name)

    def __getitem__(self, key: str | int) -> PropertyRef:
        from sagepipe.pipeline.properties import navigate_item

        return navigate_item(self, key)


@dataclass(frozen=True)
class Join(Expression):
    """``Std:Join``: the string values joined with ``on`` at run time."""

    on: str
    values: tuple[Any, ...]

    def __init__(self, on: str = "", values: Sequence[Any] = ()) -> None:
        object.__setattr__(self, "on", on)
        object.__setattr__(self, "values", tuple(values))

    def to_json(self) -> JsonValue:
        return {"Std:Join": {"On": self.on, "Values": [to_json(v) for v in self.values]}}

    def step_names(self) -> frozenset[str]:
        return frozenset().union(*(step_names(v) for v in self.values))

    def parameters(self) -> tuple[Parameter, ...]:
        found: list[Parameter] = []
        for value in self.values:
            found.extend(parameters_in(value))
        return tuple(found)


def to_json(value: Any) -> JsonValue:
    """JSON form of a value that may contain expressions anywhere inside lists and dicts."""
    if isinstance(value, Expression):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise PipelineDefinitionError(
        f"value {value!r} of type {type(value).__name__} cannot be part of a pipeline; "
        "use strings, numbers, booleans, lists, dicts or pipeline expressions"
    )


def step_names(value: Any) -> frozenset[str]:
    """Every step referenced anywhere inside ``value``."""
    if isinstance(value, Expression):
        return value.step_names()
    if isinstance(value, Mapping):
        return frozenset().union(*(step_names(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return frozenset().union(*(step_names(v) for v in value))
    return frozenset()


def parameters_in(value: Any) -> tuple[Parameter, ...]:
    """Every parameter used anywhere inside ``value``."""
    if isinstance(value, Expression):
        return value.parameters()
    found: list[Parameter] = []
    if isinstance(value, Mapping):
        for v in value.values():
            found.extend(parameters_in(v))
    elif isinstance(value, (list, tuple)):
        for v in value:
            found.extend(parameters_in(v))
    return tuple(found)


_GET = re.compile(r"^(Parameters|Steps|Execution)\.(.+)$")
_STEP_PATH = re.compile(r"^([A-Za-z0-9_\-]+)\.(.+)$")


def from_json(value: JsonValue, parameters: Mapping[str, Parameter]) -> Any:
    """Inverse of :func:`to_json`: rebuild expressions from their definition form.

    Args:
        value: JSON value, possibly holding ``Get`` and ``Std:Join`` objects.
        parameters: Declared parameters by name; a ``Get`` of an undeclared one is an error.
    """
    if isinstance(value, list):
        return [from_json(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"} and isinstance(value["Get"], str):
        return _parse_get(value["Get"], parameters)
    if set(value) == {"Std:Join"} and isinstance(value["Std:Join"], dict):
        body = value["Std:Join"]
        on, values = body.get("On", ""), body.get("Values", [])
        if not isinstance(on, str) or not isinstance(values, list):
            raise PipelineDefinitionError(
                'Std:Join needs {"On": <string>, "Values": [<values>]}, got ' + repr(body)
            )
        return Join(on=on, values=[from_json(v, parameters) for v in values])
    return {k: from_json(v, parameters) for k, v in value.items()}


def _parse_get(text: str, parameters: Mapping[str, Parameter]) -> Expression:
    match = _GET.match(text)
    if match is None:
        raise PipelineDefinitionError(
            f"cannot read {{'Get': {text!r}}}: it must start with Parameters., Steps. or Execution."
        )
    kind, rest = match.groups()
    if kind == "Parameters":
        if rest not in parameters:
            from sagepipe.errors import did_you_mean

            raise PipelineDefinitionError(
                f"parameter {rest!r} is used but not declared{did_you_mean(rest, parameters)}; "
                "declare it in the pipeline's parameters"
            )
        return parameters[rest]
    if kind == "Execution":
        return ExecutionVariable(rest)
    step_match = _STEP_PATH.match(rest)
    if step_match is None:
        raise PipelineDefinitionError(f"cannot read step reference {text!r}")
    return PropertyRef(step_match.group(1), step_match.group(2))


_PATH_TOKEN = re.compile(r"\.?([A-Za-z0-9_]+)|\[(?:'([^']*)'|\"([^\"]*)\"|(\d+))\]")


@dataclass(frozen=True)
class PathToken:
    """One step of a step property path, as the SageMaker SDK writes it.

    Attributes:
        kind: ``member`` (``.ModelArtifacts``), ``key`` (``['train']``: a map entry, or the
            list item with that name) or ``index`` (``[0]``).
        key: The member name or key, or the index.
    """

    kind: Literal["member", "key", "index"]
    key: str | int


def property_path_tokens(path: str) -> tuple[PathToken, ...]:
    """Split ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri`` into its tokens.

    Raises:
        PropertyPathError: The path is not dotted names, ``['key']`` and ``[index]``.
    """
    tokens: list[PathToken] = []
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise PropertyPathError(
                f"cannot read the property path {path!r} at position {position}"
            )
        member, single, double, index = match.groups()
        if member is not None:
            tokens.append(PathToken("member", member))
        elif index is not None:
            tokens.append(PathToken("index", int(index)))
        else:
            tokens.append(PathToken("key", single if single is not None else double))
        position = match.end()
    return tuple(tokens)
