"""The dependency resolver: wires a step's inputs from its predecessors' outputs.

Deterministic and exact: an output feeds an input when one of its names (logical name or
alias) equals one of the input's names, its type is one the input accepts, and its step type is
one the input allows. One candidate is wired; none or several is an error that says what to
do. Explicit inputs always win. There are no similarity scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sagepipe.errors import DependencyResolutionError, did_you_mean
from sagepipe.expressions import JsonValue, to_json
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification
from sagepipe.pipeline.step import InputBinding, Step


@dataclass(frozen=True)
class Candidate:
    step: Step
    output: OutputSpec
    matched_name: str


def find_candidates(dependency: DependencySpec, predecessors: Sequence[Step]) -> list[Candidate]:
    """Every predecessor output that can feed ``dependency``, in predecessor order."""
    found: list[Candidate] = []
    wanted = dependency.names()
    for step in predecessors:
        if dependency.compatible_sources and step.step_type not in dependency.compatible_sources:
            continue
        for output in step.outputs:
            if output.output_type not in dependency.accepted_types:
                continue
            shared = [name for name in output.names() if name in wanted]
            if shared:
                found.append(Candidate(step, output, shared[0]))
    return found


def resolve_inputs(
    step_name: str,
    specification: StepSpecification,
    predecessors: Sequence[Step],
    explicit: Mapping[str, object],
) -> dict[str, InputBinding]:
    """Bind every dependency of a step.

    Args:
        step_name: Name of the step being built (for messages).
        specification: Its specification.
        predecessors: The steps it depends on.
        explicit: Inputs given by the user, by logical name: literals or expressions.

    Raises:
        DependencyResolutionError: For an unknown explicit input, a required input with no
            candidate, or an input with several candidates.
    """
    known = [d.logical_name for d in specification.dependencies]
    for name in explicit:
        if specification.dependency(name) is None:
            raise DependencyResolutionError(
                f"step {step_name!r} ({specification.step_type}) has no input {name!r}"
                f"{did_you_mean(name, known)}; its inputs are: {', '.join(known) or 'none'}"
            )
    bindings: dict[str, InputBinding] = {}
    for dependency in specification.dependencies:
        name = dependency.logical_name
        if name in explicit:
            value: JsonValue = to_json(explicit[name])
            bindings[name] = InputBinding(value=value, source="explicit", reason="given explicitly")
            continue
        candidates = find_candidates(dependency, predecessors)
        if len(candidates) == 1:
            bindings[name] = _bind(candidates[0], dependency)
        elif len(candidates) > 1:
            options = ", ".join(f"{c.step.name}.{c.output.logical_name}" for c in candidates)
            raise DependencyResolutionError(
                f"step {step_name!r} input {name!r} can come from several outputs: {options}; "
                f"map it explicitly, e.g. inputs={{{name!r}: "
                f"<step>.output_ref('<output>')}} or, in a config file, "
                f'inputs: {{{name}: {{Output: "<step>.<output>"}}}}'
            )
        elif dependency.required:
            raise DependencyResolutionError(
                f"step {step_name!r} needs input {name!r} "
                f"(types {', '.join(dependency.accepted_types)}; names "
                f"{', '.join(dependency.names())}) and no predecessor offers it; "
                f"predecessors offer: {_offers(predecessors)}. Add an edge from a step that "
                "produces it, or give the input explicitly"
            )
    return bindings


def _bind(candidate: Candidate, dependency: DependencySpec) -> InputBinding:
    ref = candidate.step.output_ref(candidate.output.logical_name)
    reason = (
        f"{candidate.step.name}.{candidate.output.logical_name} "
        f"(name {candidate.matched_name!r}, type {candidate.output.output_type})"
    )
    return InputBinding(value=ref.to_json(), source="resolved", reason=reason)


def _offers(predecessors: Sequence[Step]) -> str:
    offers = [
        f"{s.name}.{o.logical_name} ({o.output_type})" for s in predecessors for o in s.outputs
    ]
    return ", ".join(offers) if offers else "nothing (no predecessors)"
