"""Step specifications (what a step needs and offers) and script contracts (what its script
sees inside the container)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DependencySpec(_Frozen):
    """An input a step needs.

    Attributes:
        logical_name: The input's name (e.g. ``input_path``, ``model_data``).
        accepted_types: Output types that can feed it (e.g. ``("processing_output",)``).
        required: Whether the step fails to build without it.
        compatible_sources: Step types allowed to provide it; empty means any.
        aliases: Other names an upstream output may carry and still match.
        ancestor_outputs: Output names looked for further up the DAG when no direct
            predecessor feeds the input: the one step upstream (at any distance) with an
            output of exactly one of these names and an accepted type is wired. A batch
            transform after a model step reads the ``test_data`` a preprocessing step wrote
            before training this way.
        description: What the input is for.
    """

    logical_name: str
    accepted_types: tuple[str, ...]
    required: bool = True
    compatible_sources: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    ancestor_outputs: tuple[str, ...] = ()
    description: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.logical_name, *self.aliases)


class OutputSpec(_Frozen):
    """An output a step offers.

    Attributes:
        logical_name: The output's name (e.g. ``model_artifacts``).
        output_type: Its type, matched against :attr:`DependencySpec.accepted_types`.
        property_path: Where SageMaker reports it, relative to ``Steps.<name>``.
        aliases: Other names it answers to.
        description: What the output holds.
    """

    logical_name: str
    output_type: str
    property_path: str
    aliases: tuple[str, ...] = ()
    description: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.logical_name, *self.aliases)


class StepSpecification(_Frozen):
    """What a step type needs and offers; the resolver wires steps from these alone.

    Attributes:
        step_type: Step type name (``PyTorchTrainingStep``...).
        kind: The SageMaker step kind whose properties the step exposes: ``Training``,
            ``Processing``, ``Model``, ``Transform``, ``RegisterModel`` or ``Endpoint``.
        dependencies: Inputs, in order.
        outputs: Outputs, in order.
    """

    step_type: str
    kind: str
    dependencies: tuple[DependencySpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()

    def dependency(self, name: str) -> DependencySpec | None:
        return next((d for d in self.dependencies if d.logical_name == name), None)


class ScriptContract(_Frozen):
    """The container-side contract of a step's script.

    Attributes:
        entry_point: Script the container runs.
        input_paths: Logical input name to container path.
        output_paths: Logical output name to container path.
        required_env_vars: Variables the script reads and must find.
        optional_env_vars: Variables it may read, with their defaults.
        arguments: Command-line arguments it accepts, with a description each.
        description: What the script does.
    """

    entry_point: str
    input_paths: dict[str, str] = Field(default_factory=dict)
    output_paths: dict[str, str] = Field(default_factory=dict)
    required_env_vars: tuple[str, ...] = ()
    optional_env_vars: dict[str, str] = Field(default_factory=dict)
    arguments: dict[str, str] = Field(default_factory=dict)
    description: str = ""
