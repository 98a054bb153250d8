"""Static checks of a definition, before anything runs.

Every problem names the step, its place in the definition and the field path:

* a ``Get`` of a step that does not exist, of a property the step's type does not have (its
  Describe* response in botocore's model; a condition's ``Outcome``; none for a fail step),
  of a property file the step does not declare, of an undeclared parameter, or of an
  ``Execution.*`` variable SageMaker does not define;
* a ``Std:JsonGet`` without ``PropertyFile``/``Path``, or with a path it cannot read;
* a ``DependsOn`` naming no step, or the step itself;
* a property file whose ``OutputName`` is not an output of its processing step;
* a step name used twice (condition branches included);
* a dependency cycle (the steps on it are named).
"""

from __future__ import annotations

from sagepipe.errors import did_you_mean
from sagepipe.expressions import ExecutionVariable
from sagepipe.local.definition.errors import DefinitionCheckError, JsonPathError
from sagepipe.local.definition.graph import DefinitionGraph, cycle_message
from sagepipe.local.definition.jsonpath import parse_json_path
from sagepipe.local.definition.model import (
    ConditionStep,
    Definition,
    FailStep,
    JobStep,
    PlacedStep,
)
from sagepipe.local.definition.properties import property_problem
from sagepipe.local.definition.references import (
    Reference,
    json_gets_in,
    references_in,
    step_arguments,
    step_references,
)


def definition_problems(definition: Definition) -> list[str]:
    """Every problem the static checks find; an empty list when there is none."""
    placed = list(definition.placed_steps())
    problems = _duplicate_names(placed)
    steps = {p.step.Name: p.step for p in placed}
    parameters = {p.Name for p in definition.Parameters}
    for where in placed:
        step = where.step
        prefix = f"step {step.Name!r} ({where.path})"
        for upstream in step.DependsOn:
            if upstream == step.Name:
                problems.append(f"{prefix}: DependsOn: names the step itself")
            elif upstream not in steps:
                problems.append(
                    f"{prefix}: DependsOn: {upstream!r} is not a step"
                    f"{did_you_mean(upstream, steps)}"
                )
        for reference in step_references(step):
            problem = _reference_problem(reference, steps, parameters)
            if problem is not None:
                problems.append(f"{prefix}: {reference.path}: {problem}")
        problems.extend(f"{prefix}: {p}" for p in _json_get_problems(step))
        if isinstance(step, JobStep):
            problems.extend(f"{prefix}: {p}" for p in _property_file_problems(step))
    if definition.PipelineExperimentConfig is not None:
        config = definition.PipelineExperimentConfig.model_dump()
        for reference in references_in(config, "PipelineExperimentConfig"):
            problem = _reference_problem(reference, steps, parameters)
            if problem is not None:
                problems.append(f"{reference.path}: {problem}")
    if not problems:
        cycle = DefinitionGraph(definition).cycle()
        if cycle is not None:
            problems.append(cycle_message(cycle))
    return problems


def check_definition(definition: Definition) -> DefinitionGraph:
    """Run the static checks and return the definition's graph.

    Raises:
        DefinitionCheckError: One line: the first problem, and how many more there are.
    """
    problems = definition_problems(definition)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DefinitionCheckError(problems[0] + more)
    return DefinitionGraph(definition)


def _duplicate_names(placed: list[PlacedStep]) -> list[str]:
    first: dict[str, str] = {}
    problems: list[str] = []
    for where in placed:
        name = where.step.Name
        if name in first:
            problems.append(
                f"step name {name!r} is used twice ({first[name]} and {where.path}); step "
                "names must be unique, condition branches included"
            )
        else:
            first[name] = where.path
    return problems


def _reference_problem(
    reference: Reference,
    steps: dict[str, JobStep | ConditionStep | FailStep],
    parameters: set[str],
) -> str | None:
    kind, _, rest = reference.get.partition(".")
    if kind == "Parameters":
        if rest in parameters:
            return None
        return (
            f"Get {reference.get}: parameter {rest!r} is not declared"
            f"{did_you_mean(rest, parameters)}; declared: {', '.join(sorted(parameters)) or 'none'}"
        )
    if kind == "Execution":
        if rest in ExecutionVariable.NAMES:
            return None
        return (
            f"Get {reference.get}: {rest!r} is not an execution variable"
            f"{did_you_mean(rest, ExecutionVariable.NAMES)}; SageMaker defines: "
            + ", ".join(ExecutionVariable.NAMES)
        )
    if kind != "Steps":
        return f"Get {reference.get} must start with Parameters., Steps. or Execution."
    name, _, path = rest.partition(".")
    if name not in steps:
        return (
            f"Get {reference.get}: step {name!r} is not in the definition"
            f"{did_you_mean(name, steps)}"
        )
    if not path:
        return f"Get {reference.get} names no property: use Steps.{name}.<property>"
    problem = property_problem(steps[name], path)
    return None if problem is None else f"Get {reference.get}: {problem}"


def _json_get_problems(step: JobStep | ConditionStep | FailStep) -> list[str]:
    root, value = step_arguments(step)
    problems: list[str] = []
    for path, body in json_gets_in(value, root):
        if not isinstance(body, dict) or set(body) != {"PropertyFile", "Path"}:
            problems.append(f"{path}: Std:JsonGet needs exactly PropertyFile and Path")
            continue
        target = body["PropertyFile"]
        if not (
            isinstance(target, dict)
            and isinstance(target.get("Get"), str)
            and ".PropertyFiles." in target["Get"]
        ):
            problems.append(
                f"{path}.PropertyFile: must be {{'Get': 'Steps.<step>.PropertyFiles.<name>'}}"
            )
        if not isinstance(body["Path"], str):
            problems.append(f"{path}.Path: must be a string")
            continue
        try:
            parse_json_path(body["Path"])
        except JsonPathError as exc:
            problems.append(f"{path}.Path: {exc}")
    return problems


def _property_file_problems(step: JobStep) -> list[str]:
    if not step.PropertyFiles:
        return []
    config = step.Arguments.get("ProcessingOutputConfig")
    outputs = config.get("Outputs", []) if isinstance(config, dict) else []
    names = [o.get("OutputName") for o in outputs if isinstance(o, dict)]
    return [
        f"PropertyFiles[{index}].OutputName: {f.OutputName!r} is not an output of the step; "
        f"its outputs: {', '.join(str(n) for n in names) or 'none'}"
        for index, f in enumerate(step.PropertyFiles)
        if f.OutputName not in names
    ]
