"""StepBuilder: the base of every step type's builder (config + resolved inputs -> IR step)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from sagepipe.config.base import BasePipelineConfig
from sagepipe.errors import PipelineDefinitionError
from sagepipe.expressions import parameters_in, step_names
from sagepipe.pipeline.resolver import bound_steps, resolve_inputs
from sagepipe.pipeline.specification import ScriptContract, StepSpecification
from sagepipe.pipeline.step import STEP_NAME_PATTERN, CodeRef, Step


class StepBuilder:
    """Builds one IR :class:`Step` from a config.

    Subclasses set :attr:`config_class`, :attr:`step_type` and :attr:`default_name` and
    implement :meth:`specification` (and :meth:`contract` / :meth:`code` when the step runs a
    script).

    Args:
        config: The step's config; must be an instance of :attr:`config_class`.
        sagemaker_session: Accepted for compatibility with the seed API; unused when building.
        role: Execution role ARN; overrides the config's ``role`` when given.
    """

    config_class: ClassVar[type[BasePipelineConfig]]
    step_type: ClassVar[str]
    default_name: ClassVar[str]
    # Config fields that describe code; they move into Step.code instead of Step.config.
    code_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        config: BasePipelineConfig,
        sagemaker_session: Any = None,
        role: str | None = None,
    ) -> None:
        if not isinstance(config, self.config_class):
            raise PipelineDefinitionError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got "
                f"{type(config).__name__}"
            )
        self.config = config
        self.sagemaker_session = sagemaker_session
        self.role = role

    def specification(self) -> StepSpecification:
        raise NotImplementedError

    def contract(self) -> ScriptContract | None:
        return None

    def code(self) -> CodeRef | None:
        return None

    def configured_inputs(self) -> dict[str, Any]:
        """Inputs whose source the config itself names (a URI, a path or a parameter), by
        logical name; explicit inputs given to :meth:`create_step` override them."""
        return {}

    def config_json(self) -> dict[str, Any]:
        data = self.config.ir_dump(exclude=self.code_fields)
        if self.role is not None:
            data["role"] = self.role
        return data

    def create_step(
        self,
        dependencies: Sequence[Step] = (),
        name: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        ancestors: Sequence[Step] = (),
        **named_inputs: Any,
    ) -> Step:
        """Build the step.

        Args:
            dependencies: Steps this one runs after; their outputs feed its inputs.
            name: Step name; default :attr:`default_name`.
            inputs: Explicit inputs by logical name (literal URIs or expressions such as
                ``train.properties.ModelArtifacts.S3ModelArtifacts``).
            cache: Whether a backend may reuse an identical earlier run.
            ancestors: Steps further upstream than ``dependencies``; they feed only inputs
                that declare ``ancestor_outputs`` (and become dependencies when they do).
            **named_inputs: Explicit inputs as keywords (``model_data=...``).
        """
        step_name = name or self.default_name
        if not re.match(STEP_NAME_PATTERN, step_name):
            raise PipelineDefinitionError(
                f"step name {step_name!r} is invalid: use 1-64 letters, digits, hyphens and "
                "underscores, starting with a letter or digit"
            )
        for dependency in dependencies:
            if not isinstance(dependency, Step):
                raise PipelineDefinitionError(
                    f"step {step_name!r}: dependencies must be steps, got {dependency!r}"
                )
        explicit = {**self.configured_inputs(), **(inputs or {}), **named_inputs}
        specification = self.specification()
        bindings = resolve_inputs(step_name, specification, dependencies, explicit, ancestors)
        referenced = step_names(list(explicit.values()))
        from_ancestors = bound_steps(bindings) & {a.name for a in ancestors}
        depends_on = sorted({d.name for d in dependencies} | referenced | from_ancestors)
        parameters = [*self.config.parameters(), *parameters_in(list(explicit.values()))]
        step = Step(
            name=step_name,
            step_type=self.step_type,
            config_type=type(self.config).__name__,
            config=self.config_json(),
            code=self.code(),
            inputs=bindings,
            specification=specification,
            depends_on=tuple(depends_on),
            cache=cache,
        )
        return step.with_parameters(tuple(parameters))

    def create_steps(
        self,
        dependencies: Sequence[Step] = (),
        name: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        ancestors: Sequence[Step] = (),
    ) -> list[Step]:
        """The steps of one DAG node; one step, except for builders that fan out (such as
        registration, one step per region)."""
        return [
            self.create_step(
                dependencies, name=name, inputs=inputs, cache=cache, ancestors=ancestors
            )
        ]


def builder_names(builders: Iterable[type[StepBuilder]]) -> list[str]:
    return sorted(b.step_type for b in builders)
