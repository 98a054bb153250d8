"""Pipeline: steps and parameters, validated, with a deterministic JSON form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagepipe.errors import PipelineDefinitionError, did_you_mean
from sagepipe.expressions import Expression, Parameter, PropertyRef, from_json, step_names
from sagepipe.pipeline.dag import PipelineDAG
from sagepipe.pipeline.properties import resolve_path
from sagepipe.pipeline.root import current_root
from sagepipe.pipeline.step import Step

IR_VERSION = 1
_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")


@dataclass(frozen=True)
class Edge:
    """``upstream -> downstream``, with the reason the edge exists."""

    upstream: str
    downstream: str
    reason: str


class Pipeline:
    """A pipeline: named steps and the parameters they use.

    Args:
        name: Pipeline name (letters, digits and hyphens, as SageMaker requires).
        steps: Steps, in any order.
        parameters: Declared parameters; parameters used by steps are added automatically.
        root: Directory local code paths are written relative to (default: the current
            root, i.e. the pipeline file's directory or the working directory).
    """

    def __init__(
        self,
        name: str,
        steps: Iterable[Step] = (),
        parameters: Iterable[Parameter] = (),
        root: Path | None = None,
    ) -> None:
        if not _PIPELINE_NAME.match(name):
            raise PipelineDefinitionError(
                f"pipeline name {name!r} is invalid: use letters, digits and hyphens "
                "(at most 256), starting with a letter or digit"
            )
        self.name = name
        self.root = (root or current_root()).resolve()
        self._steps: dict[str, Step] = {}
        self._parameters: dict[str, Parameter] = {}
        for parameter in parameters:
            self.add_parameter(parameter)
        for step in steps:
            self.add_step(step)

    @property
    def steps(self) -> list[Step]:
        return list(self._steps.values())

    @property
    def parameters(self) -> list[Parameter]:
        return list(self._parameters.values())

    def step(self, name: str) -> Step:
        try:
            return self._steps[name]
        except KeyError:
            raise PipelineDefinitionError(
                f"pipeline {self.name!r} has no step {name!r}{did_you_mean(name, self._steps)}"
            ) from None

    def add_parameter(self, parameter: Parameter) -> None:
        known = self._parameters.get(parameter.name)
        if known is not None and known != parameter:
            raise PipelineDefinitionError(
                f"parameter {parameter.name!r} is declared twice with different "
                f"definitions: {known} and {parameter}"
            )
        self._parameters[parameter.name] = parameter

    def add_step(self, step: Step) -> None:
        """Add a step (and the parameters it uses); names must be unique."""
        if step.name in self._steps:
            raise PipelineDefinitionError(
                f"pipeline {self.name!r} already has a step named {step.name!r}; "
                "give the step another name (create_step(name=...))"
            )
        for parameter in step_parameters(step):
            self.add_parameter(parameter)
        self._steps[step.name] = step

    def dag(self) -> PipelineDAG:
        """The DAG of ``depends_on`` edges; unknown dependencies are an error."""
        dag = PipelineDAG()
        for name in self._steps:
            dag.add_node(name)
        for step in self._steps.values():
            for upstream in step.depends_on:
                if upstream not in self._steps:
                    raise PipelineDefinitionError(
                        f"step {step.name!r} depends on {upstream!r}, which is not in pipeline "
                        f"{self.name!r}{did_you_mean(upstream, self._steps)}; add that step too"
                    )
                dag.add_edge(upstream, step.name)
        return dag

    def execution_order(self) -> list[Step]:
        return [self._steps[name] for name in self.dag().topological_order()]

    def validate(self) -> None:
        """Check dependencies, cycles, property references and parameters."""
        if not self._steps:
            raise PipelineDefinitionError(f"pipeline {self.name!r} has no steps")
        self.execution_order()
        for step in self._steps.values():
            for where, value in _expressions(step):
                self._check_expression(step, where, value)

    def _check_expression(self, step: Step, where: str, value: Any) -> None:
        expr = from_json(value, self._parameters)
        for ref in _property_refs(expr):
            if ref.step_name not in self._steps:
                raise PipelineDefinitionError(
                    f"step {step.name!r} {where} reads Steps.{ref.step_name}, which is not in "
                    f"the pipeline{did_you_mean(ref.step_name, self._steps)}"
                )
            if ref.step_name not in step.depends_on:
                raise PipelineDefinitionError(
                    f"step {step.name!r} {where} reads Steps.{ref.step_name} but does not "
                    "depend on it"
                )
            upstream = self._steps[ref.step_name]
            resolve_path(upstream.name, upstream.property_shape(), ref.path)

    def edges(self) -> list[Edge]:
        """Every edge with its reason: the inputs it feeds, or an explicit dependency."""
        found: list[Edge] = []
        for step in self.execution_order():
            fed: dict[str, list[str]] = {}
            for input_name, binding in sorted(step.inputs.items()):
                expr = from_json(binding.value, self._parameters)
                for upstream in sorted(step_names(expr)):
                    fed.setdefault(upstream, []).append(f"{input_name}: {binding.reason}")
            for upstream in step.depends_on:
                reasons = fed.get(upstream) or ["explicit dependency (no input wired)"]
                found.append(Edge(upstream, step.name, "; ".join(reasons)))
        return found

    # --- JSON form ---------------------------------------------------------------------

    def to_ir(self) -> dict[str, Any]:
        return {
            "ir_version": IR_VERSION,
            "name": self.name,
            "parameters": [p.definition() for p in sorted(self.parameters, key=_name)],
            "steps": [s.ir_json(self.root) for s in self.execution_order()],
        }

    def to_json(self) -> str:
        """Deterministic JSON: sorted keys, steps in execution order, no timestamps, local
        paths relative to :attr:`root`."""
        return json.dumps(self.to_ir(), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, root: Path | None = None) -> Pipeline:
        """Rebuild a pipeline from :meth:`to_json` output; ``root`` anchors relative paths."""
        data = json.loads(text)
        if data.get("ir_version") != IR_VERSION:
            raise PipelineDefinitionError(
                f"IR version {data.get('ir_version')!r} is not supported (expected {IR_VERSION})"
            )
        base = (root or current_root()).resolve()
        parameters = [
            Parameter(p["Name"], p["Type"], p["DefaultValue"]) for p in data["parameters"]
        ]
        steps = [Step.from_ir_json(raw, base) for raw in data["steps"]]
        return cls(data["name"], steps=steps, parameters=parameters, root=base)


def _name(parameter: Parameter) -> str:
    return parameter.name


def step_parameters(step: Step) -> tuple[Parameter, ...]:
    """Parameters attached to a step by its builder (kept out of the step's JSON)."""
    return step.attached_parameters


def _expressions(step: Step) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [
        (f"input {name!r}", binding.value) for name, binding in step.inputs.items()
    ]
    found.extend((f"config field {key!r}", value) for key, value in step.config.items())
    return found


def _property_refs(value: Any) -> list[PropertyRef]:
    if isinstance(value, PropertyRef):
        return [value]
    if isinstance(value, Expression):
        return [r for v in getattr(value, "values", ()) for r in _property_refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _property_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _property_refs(v)]
    return []
