"""A readable description of a pipeline: what ``sagepipe show`` prints.

Steps in execution order with their type, code, inputs (the value and where it comes from:
the reason of the edge), outputs (with their property paths) and the parameters they use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagepipe.pipeline import Pipeline, Step


def describe_pipeline(pipeline: Pipeline) -> str:
    """The multi-line description of a validated pipeline."""
    steps = pipeline.execution_order()
    parameters = sorted(pipeline.parameters, key=lambda p: p.name)
    lines = [
        f"pipeline {pipeline.name}: {count(len(steps), 'step')}, "
        f"{count(len(parameters), 'parameter')}",
    ]
    if parameters:
        lines += ["", "parameters:"]
        width = max(len(p.name) for p in parameters)
        lines += [
            f"  {p.name:<{width}}  {p.parameter_type:<7}  default {p.default!r}" for p in parameters
        ]
    lines += ["", "steps (in execution order):"]
    for index, step in enumerate(steps, start=1):
        lines += _describe_step(index, step, pipeline.root)
    return "\n".join(lines) + "\n"


def count(n: int, noun: str) -> str:
    """``"1 step"``, ``"2 steps"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _describe_step(index: int, step: Step, root: Path) -> list[str]:
    lines = [f"  {index}. {step.name}  {step.step_type} ({step.config_type})"]
    if step.depends_on:
        lines.append(f"     after: {', '.join(step.depends_on)}")
    if step.code is not None:
        code = step.code.relative_to(root) if step.code.is_local() else step.code
        lines.append(f"     code: {code.entry_point} in {code.source_dir}")
    if step.inputs:
        lines.append("     inputs:")
        for name, binding in sorted(step.inputs.items()):
            value = render_value(binding.value)
            if binding.source == "explicit":
                lines.append(f"       {name} <- {value} (given explicitly)")
            else:
                lines.append(f"       {name} <- {binding.reason}")
                lines.append(f"          = {value}")
    if step.outputs:
        lines.append("     outputs:")
        lines += [
            f"       {o.logical_name} ({o.output_type}): Steps.{step.name}.{o.property_path}"
            for o in step.outputs
        ]
    used = sorted(
        parameter_names(step.config)
        | parameter_names({name: binding.value for name, binding in step.inputs.items()})
    )
    if used:
        lines.append(f"     parameters: {', '.join(used)}")
    return lines


def render_value(value: Any) -> str:
    """A compact form of an input value: ``Parameters.X``, ``Steps.a.Path``, joins, literals."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return str(value["Get"])
        if set(value) == {"Std:Join"} and isinstance(value["Std:Join"], dict):
            body = value["Std:Join"]
            parts = ", ".join(render_value(v) for v in body.get("Values", []))
            return f"join({body.get('On', '')!r}, [{parts}])"
    if isinstance(value, str):
        return value
    return repr(value)


def parameter_names(value: Any) -> set[str]:
    """Names of the parameters read anywhere in a JSON value."""
    if isinstance(value, dict):
        get = value.get("Get")
        if set(value) == {"Get"} and isinstance(get, str) and get.startswith("Parameters."):
            return {get.removeprefix("Parameters.")}
        return set().union(*(parameter_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(parameter_names(v) for v in value))
    return set()
