"""The dependency resolver: wires a step's inputs from its predecessors' outputs.

Deterministic and exact: an output feeds an input when one of its names (logical name or
alias) equals one of the input's names, its type is one the input accepts, and its step type is
one the input allows. One candidate is wired; none or several is an error that says what to
do. Explicit inputs always win. There are no similarity scores.

Only direct predecessors are searched, except for an input that declares
``ancestor_outputs``: when no predecessor feeds it, the steps further upstream are searched for
an output of exactly one of those names (a batch transform after a model step finds the
``test_data`` of the preprocessing step that fed training).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sagepipe.errors import DependencyResolutionError, did_you_mean
from sagepipe.expressions import JsonValue, to_json
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification
from sagepipe.pipeline.step import InputBinding, Step

_STEP_GET = re.compile(r"^Steps\.([A-Za-z0-9\-_]+)[.\[]")


@dataclass(frozen=True)
class Candidate:
    step: Step
    output: OutputSpec
    matched_name: str


def find_candidates(
    dependency: DependencySpec,
    predecessors: Sequence[Step],
    wanted: tuple[str, ...] | None = None,
) -> list[Candidate]:
    """Every predecessor output that can feed ``dependency``, in predecessor order; matched
    by the input's names, or by ``wanted`` when given."""
    found: list[Candidate] = []
    wanted = dependency.names() if wanted is None else wanted
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
    ancestors: Sequence[Step] = (),
) -> dict[str, InputBinding]:
    """Bind every dependency of a step.

    Args:
        step_name: Name of the step being built (for messages).
        specification: Its specification.
        predecessors: The steps it depends on.
        explicit: Inputs given by the user, by logical name: literals or expressions.
        ancestors: The steps further upstream (not direct predecessors), searched only for
            inputs that declare ``ancestor_outputs``.

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
        if not candidates and dependency.ancestor_outputs:
            candidates = find_candidates(dependency, ancestors, dependency.ancestor_outputs)
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
            further = (
                f"; no step further upstream has an output named "
                f"{' or '.join(repr(n) for n in dependency.ancestor_outputs)} either"
                if dependency.ancestor_outputs
                else ""
            )
            raise DependencyResolutionError(
                f"step {step_name!r} needs input {name!r} "
                f"(types {', '.join(dependency.accepted_types)}; names "
                f"{', '.join(dependency.names())}) and no predecessor offers it; "
                f"predecessors offer: {_offers(predecessors)}{further}. Add an edge from a "
                f"step that produces it, or give it: create_step({name}=<s3:// URI or step "
                f"output>), or in a template inputs={{{step_name!r}: {{{name!r}: "
                f"<s3:// URI or OutputOf('<node>', '<output>')>}}}}"
            )
    return bindings


def bound_steps(bindings: Mapping[str, InputBinding]) -> set[str]:
    """Names of the steps whose properties the bindings read (``{"Get": "Steps.X..."}``)."""
    found: set[str] = set()
    for binding in bindings.values():
        value = binding.value
        if isinstance(value, dict) and isinstance(get := value.get("Get"), str):
            match = _STEP_GET.match(get)
            if match is not None:
                found.add(match.group(1))
    return found


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
