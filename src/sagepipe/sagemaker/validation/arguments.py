"""Check a step's ``Arguments`` against its API's request shape, constraint by constraint.

botocore's own ``ParamValidator`` checks types, required members and minimums only; this
also checks enums, patterns, maximum lengths, counts and values, and unknown members. A
``Get``/``Std:Join`` expression is replaced by a typed placeholder: a parameter has its
declared type (and its default is checked like a literal), ``Execution.*`` and ``Std:Join``
are strings, and ``Steps.<name>.<path>`` has the type of that field of the step's Describe*
response (a path that does not exist there is an error). A string field accepts any
expression; other fields need one of their type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagepipe import service_model
from sagepipe.errors import PropertyPathError, did_you_mean
from sagepipe.sagemaker.validation import service

_PARAMETER_KINDS = {
    "String": "string",
    "Integer": "integer",
    "Float": "float",
    "Boolean": "boolean",
}
_SHAPE_KINDS = {"long": "integer", "double": "float", "timestamp": "string", "blob": "string"}
_EXECUTION = frozenset(
    {
        "CurrentDateTime",
        "PipelineArn",
        "PipelineExecutionArn",
        "PipelineExecutionId",
        "PipelineName",
        "StartDateTime",
    }
)


@dataclass(frozen=True)
class Placeholder:
    """What an expression stands for: its kind and, for a parameter, its default."""

    kind: str
    origin: str
    default: Any = None


class ArgumentChecker:
    """Collects every problem of one step's arguments.

    Args:
        step: Step name, for messages.
        parameters: The definition's parameters by name (``{"Name", "Type", "DefaultValue"}``).
        step_types: The definition's step types by step name.
    """

    def __init__(
        self, step: str, parameters: dict[str, dict[str, Any]], step_types: dict[str, str]
    ) -> None:
        self.step = step
        self.parameters = parameters
        self.step_types = step_types
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"step {self.step!r}: {path}: {message}")

    def check_request(self, api: str, arguments: Any) -> None:
        """Check ``arguments`` as a request of ``api``."""
        filled = service.SERVICE_FILLED.get(api, frozenset())
        self.check(service.request_shape(api), arguments, "Arguments", filled)

    def check(self, name: str, value: Any, path: str, filled: frozenset[str] = frozenset()) -> None:
        spec = service.shape(name)
        kind = _SHAPE_KINDS.get(spec["type"], spec["type"])
        if _is_expression(value):
            self._check_expression(name, spec, kind, value, path)
            return
        checker = getattr(self, f"_check_{kind}")
        checker(name, spec, value, path, filled)

    # --- containers ------------------------------------------------------------------

    def _check_structure(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if not isinstance(value, dict):
            self.problem(path, f"must be an object ({name}), not {_type(value)}")
            return
        members = spec.get("members", {})
        for key in sorted(value):
            if key not in members:
                self.problem(
                    f"{path}.{key}",
                    f"{name} has no member {key!r}{did_you_mean(key, members)}",
                )
            else:
                self.check(members[key]["shape"], value[key], f"{path}.{key}")
        for key in spec.get("required", []):
            if key not in value and key not in filled:
                self.problem(f"{path}.{key}", f"is required by {name}")

    def _check_list(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if not isinstance(value, list):
            self.problem(path, f"must be a list ({name}), not {_type(value)}")
            return
        self._count(spec, len(value), path, "items")
        for index, item in enumerate(value):
            self.check(spec["member"]["shape"], item, f"{path}[{index}]")

    def _check_map(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if not isinstance(value, dict):
            self.problem(path, f"must be an object ({name}), not {_type(value)}")
            return
        self._count(spec, len(value), path, "entries")
        for key in sorted(value):
            self.check(spec["key"]["shape"], key, f"{path} key {key!r}")
            self.check(spec["value"]["shape"], value[key], f"{path}.{key}")

    def _count(self, spec: dict[str, Any], count: int, path: str, what: str) -> None:
        if "min" in spec and count < spec["min"]:
            self.problem(path, f"has {count} {what}; at least {spec['min']} needed")
        if "max" in spec and count > spec["max"]:
            self.problem(path, f"has {count} {what}; at most {spec['max']} allowed")

    # --- scalars ---------------------------------------------------------------------

    def _check_string(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if not isinstance(value, str):
            self.problem(path, f"must be a string, not {_type(value)} {value!r}")
            return
        if "enum" in spec and value not in spec["enum"]:
            choices: list[str] = spec["enum"]
            allowed = ", ".join(choices)
            if len(choices) > 12:
                allowed = f"the {len(choices)} {name} values ({', '.join(choices[:12])}, ...)"
            self.problem(path, f"{value!r} is not one of {allowed}{did_you_mean(value, choices)}")
            return
        if "min" in spec and len(value) < spec["min"]:
            self.problem(path, f"{value!r} is shorter than {spec['min']} characters")
        if "max" in spec and len(value) > spec["max"]:
            self.problem(path, f"is {len(value)} characters long; at most {spec['max']} allowed")
        compiled = service.pattern(name)
        if compiled is not None and compiled.fullmatch(value) is None:
            self.problem(path, f"{value!r} does not match the pattern {spec['pattern']}")

    def _check_integer(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"must be an integer, not {_type(value)} {value!r}")
            return
        self._range(spec, value, path)

    def _check_float(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(path, f"must be a number, not {_type(value)} {value!r}")
            return
        self._range(spec, value, path)

    def _check_boolean(
        self, name: str, spec: dict[str, Any], value: Any, path: str, filled: frozenset[str]
    ) -> None:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {_type(value)} {value!r}")

    def _range(self, spec: dict[str, Any], value: float, path: str) -> None:
        if "min" in spec and value < spec["min"]:
            self.problem(path, f"{value} is less than the minimum {spec['min']}")
        if "max" in spec and value > spec["max"]:
            self.problem(path, f"{value} is more than the maximum {spec['max']}")

    # --- expressions -----------------------------------------------------------------

    def _check_expression(
        self, name: str, spec: dict[str, Any], kind: str, value: dict[str, Any], path: str
    ) -> None:
        placeholder = self.placeholder(value, path)
        if placeholder is None:
            return
        compatible = (
            kind == "string"
            or placeholder.kind == kind
            or (kind == "float" and placeholder.kind == "integer")
        )
        if not compatible:
            self.problem(
                path, f"{placeholder.origin} is a {placeholder.kind}; this field needs a {kind}"
            )
        elif placeholder.default is not None and (
            kind != "string" or isinstance(placeholder.default, str)
        ):
            self.check(name, placeholder.default, f"{path} (default of {placeholder.origin})")

    def placeholder(self, value: dict[str, Any], path: str) -> Placeholder | None:
        """The typed placeholder of an expression; ``None`` (and a problem) when invalid."""
        if "Std:Join" in value:
            body = value["Std:Join"]
            if not (
                isinstance(body, dict)
                and isinstance(body.get("On"), str)
                and isinstance(body.get("Values"), list)
            ):
                self.problem(path, 'Std:Join needs {"On": <string>, "Values": [...]}')
                return None
            for index, item in enumerate(body["Values"]):
                if _is_expression(item):
                    self.placeholder(item, f"{path}.Std:Join.Values[{index}]")
                elif not isinstance(item, (str, int, float, bool)):
                    self.problem(f"{path}.Std:Join.Values[{index}]", "must be a scalar")
            return Placeholder("string", "a Std:Join")
        get = value["Get"]
        if not isinstance(get, str):
            self.problem(path, f"Get must name a value, not {get!r}")
            return None
        head, _, rest = get.partition(".")
        if head == "Parameters":
            return self._parameter(rest, path)
        if head == "Execution":
            if rest not in _EXECUTION:
                self.problem(path, f"{get} is not an execution variable")
                return None
            return Placeholder("string", get)
        if head == "Steps":
            return self._property(get, rest, path)
        self.problem(path, f"{get!r} must start with Parameters., Steps. or Execution.")
        return None

    def _parameter(self, name: str, path: str) -> Placeholder | None:
        parameter = self.parameters.get(name)
        if parameter is None:
            self.problem(
                path,
                f"parameter {name!r} is not declared{did_you_mean(name, self.parameters)}",
            )
            return None
        kind = _PARAMETER_KINDS.get(parameter["Type"], "string")
        return Placeholder(kind, f"parameter {name!r}", parameter.get("DefaultValue"))

    def _property(self, get: str, rest: str, path: str) -> Placeholder | None:
        step, _, property_path = rest.partition(".")
        step_type = self.step_types.get(step)
        if step_type is None:
            self.problem(path, f"{get} reads step {step!r}, which is not in the pipeline")
            return None
        if step_type not in service.STEP_APIS:
            return Placeholder("any", get)
        try:
            current = service_model.property_shape(
                step_type, service.STEP_APIS[step_type][1], property_path
            )
        except PropertyPathError as exc:
            self.problem(path, f"{get}: {exc}")
            return None
        final = service.shape(current)["type"]
        return Placeholder(_SHAPE_KINDS.get(final, final), get)


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and (set(value) == {"Get"} or set(value) == {"Std:Join"})


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
