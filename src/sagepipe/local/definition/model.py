"""Typed, frozen models of a SageMaker pipeline definition (schema version ``2020-12-01``).

The field names are the definition's own keys, so a model dumps back to the JSON it was read
from. Where SageMaker's schema is closed (the top level, steps, conditions, parameters, cache
and retry settings, property files) unknown keys are refused; a job step's ``Arguments`` is
the request of a SageMaker API call and stays plain JSON here (``checks`` reads it).

Step types: the job steps (:data:`JOB_STEP_TYPES`), ``Condition`` (``Arguments.Conditions``
with nested ``IfSteps``/``ElseSteps`` step lists) and ``Fail`` (``Arguments.ErrorMessage``).
The types in :data:`NO_LOCAL_MEANING` are SageMaker step types that a local run cannot carry
out; :mod:`.reading` refuses them before anything is modelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

DEFINITION_VERSION = "2020-12-01"

JobStepType = Literal[
    "Processing",
    "Training",
    "Model",
    "CreateModel",
    "RegisterModel",
    "Transform",
    "EndpointConfig",
    "Endpoint",
]
#: Step types whose ``Arguments`` is the request of a SageMaker API call.
JOB_STEP_TYPES: tuple[str, ...] = get_args(JobStepType)
#: Every step type a definition may hold and the local engine can run.
KNOWN_STEP_TYPES = (*JOB_STEP_TYPES, "Condition", "Fail")
#: SageMaker step types with no local meaning: refused before anything runs.
NO_LOCAL_MEANING = (
    "Lambda",
    "EMR",
    "Callback",
    "ClarifyCheck",
    "QualityCheck",
    "Tuning",
    "AutoML",
    "NotebookJob",
)
ParameterType = Literal["String", "Integer", "Float", "Boolean"]
ComparisonType = Literal[
    "Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"
]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterDeclaration(_Closed):
    """An entry of ``Parameters``: a value an execution may override."""

    Name: str = Field(min_length=1)
    Type: ParameterType
    DefaultValue: str | int | float | bool | None = None
    EnumValues: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _default_has_the_type(self) -> ParameterDeclaration:
        if self.DefaultValue is not None and not value_has_type(self.DefaultValue, self.Type):
            raise ValueError(
                f"parameter {self.Name!r} is {self.Type} but its DefaultValue "
                f"{self.DefaultValue!r} is not"
            )
        if self.EnumValues is not None:
            if self.Type != "String":
                raise ValueError(f"parameter {self.Name!r}: only a String has EnumValues")
            if self.DefaultValue is not None and self.DefaultValue not in self.EnumValues:
                raise ValueError(
                    f"parameter {self.Name!r}: DefaultValue {self.DefaultValue!r} is not one "
                    f"of its EnumValues {', '.join(self.EnumValues)}"
                )
        return self


def value_has_type(value: object, parameter_type: str) -> bool:
    """Whether ``value`` is a value of a parameter of ``parameter_type`` (a Float accepts an
    integer; a boolean is never a number)."""
    if parameter_type == "Boolean" or isinstance(value, bool):
        return parameter_type == "Boolean" and isinstance(value, bool)
    if parameter_type == "Integer":
        return isinstance(value, int)
    if parameter_type == "Float":
        return isinstance(value, (int, float))
    return isinstance(value, str)


class ExperimentConfig(_Closed):
    """``PipelineExperimentConfig``: names (or expressions) of the experiment and trial."""

    ExperimentName: Any
    TrialName: Any


class MlflowSettings(_Closed):
    """``MlflowConfig``, which the SageMaker Python SDK 3.x writes (its values may be null)."""

    MlflowResourceArn: Any = None
    MlflowExperimentName: Any = None


class StepCacheConfig(_Closed):
    """A step's ``CacheConfig``; ``ExpireAfter`` is an ISO 8601 duration."""

    Enabled: StrictBool
    ExpireAfter: str | None = None


class RetryPolicy(_Closed):
    """An entry of a step's ``RetryPolicies``."""

    ExceptionType: tuple[str, ...]
    IntervalSeconds: StrictInt | None = None
    BackoffRate: float | None = None
    MaxAttempts: StrictInt | None = None
    ExpireAfterMin: StrictInt | None = None


class PropertyFile(_Closed):
    """A JSON file a processing step writes into one of its outputs, read by ``Std:JsonGet``."""

    PropertyFileName: str = Field(min_length=1)
    OutputName: str = Field(min_length=1)
    FilePath: str = Field(min_length=1)


class Comparison(_Closed):
    """A comparison: ``Equals``, ``GreaterThan``, ``GreaterThanOrEqualTo``, ``LessThan`` or
    ``LessThanOrEqualTo``."""

    Type: ComparisonType
    LeftValue: Any
    RightValue: Any


class InCondition(_Closed):
    """``In``: whether ``QueryValue`` equals one of ``Values``."""

    Type: Literal["In"]
    QueryValue: Any
    Values: tuple[Any, ...]


class NotCondition(_Closed):
    """``Not``: the negation of one condition, under ``Condition`` (as the SageMaker Python
    SDK 2.2xx writes it) or ``Expression`` (as earlier SDKs did)."""

    Type: Literal["Not"]
    Condition: AnyCondition | None = None
    Expression: AnyCondition | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> NotCondition:
        if (self.Condition is None) == (self.Expression is None):
            raise ValueError("a Not condition has exactly one of Condition or Expression")
        return self

    @property
    def negated(self) -> AnyCondition:
        """The condition this one negates."""
        found = self.Condition if self.Condition is not None else self.Expression
        if found is None:  # the validator refuses this; mypy cannot know it
            raise ValueError("a Not condition has exactly one of Condition or Expression")
        return found


class OrCondition(_Closed):
    """``Or``: true when one of ``Conditions`` is."""

    Type: Literal["Or"]
    Conditions: tuple[AnyCondition, ...]


AnyCondition = Annotated[
    Comparison | InCondition | NotCondition | OrCondition, Field(discriminator="Type")
]


class _StepBase(_Closed):
    Name: str = Field(pattern=r"^[A-Za-z0-9\-_]{1,64}$")
    DependsOn: tuple[str, ...] = ()
    Description: str | None = None
    DisplayName: str | None = None


class JobStep(_StepBase):
    """A step whose ``Arguments`` is a SageMaker API request (``CreateTrainingJob``...)."""

    Type: JobStepType
    Arguments: dict[str, Any]
    CacheConfig: StepCacheConfig | None = None
    RetryPolicies: tuple[RetryPolicy, ...] = ()
    PropertyFiles: tuple[PropertyFile, ...] = ()


class ConditionArguments(_Closed):
    """A condition step's ``Arguments``: all ``Conditions`` true runs ``IfSteps``, else
    ``ElseSteps``."""

    Conditions: tuple[AnyCondition, ...]
    IfSteps: tuple[Step, ...] = ()
    ElseSteps: tuple[Step, ...] = ()


class ConditionStep(_StepBase):
    """A ``Condition`` step."""

    Type: Literal["Condition"]
    Arguments: ConditionArguments


class FailArguments(_Closed):
    """A fail step's ``Arguments``: the message (a string or an expression)."""

    ErrorMessage: Any = ""


class FailStep(_StepBase):
    """A ``Fail`` step: the execution stops, with ``ErrorMessage`` as its reason."""

    Type: Literal["Fail"]
    Arguments: FailArguments = FailArguments()


Step = Annotated[JobStep | ConditionStep | FailStep, Field(discriminator="Type")]
Branch = Literal["IfSteps", "ElseSteps"]


@dataclass(frozen=True)
class PlacedStep:
    """A step and where it stands in the definition.

    Attributes:
        step: The step.
        path: Its JSON path (``Steps[2]``, ``Steps[2].Arguments.IfSteps[0]``).
        condition: The condition step whose branch holds it; ``None`` at the top level.
        branch: ``IfSteps`` or ``ElseSteps`` when ``condition`` is set.
    """

    step: JobStep | ConditionStep | FailStep
    path: str
    condition: str | None = None
    branch: Branch | None = None


class Definition(_Closed):
    """A pipeline definition, as ``CreatePipeline`` accepts it."""

    Version: Literal["2020-12-01"]
    Metadata: dict[str, Any] = Field(default_factory=dict)
    Parameters: tuple[ParameterDeclaration, ...] = ()
    PipelineExperimentConfig: ExperimentConfig | None = None
    MlflowConfig: MlflowSettings | None = None
    Steps: tuple[Step, ...]

    def placed_steps(self) -> Iterator[PlacedStep]:
        """Every step, those inside condition branches included, parents first."""
        for index, step in enumerate(self.Steps):
            yield from _placed(step, f"Steps[{index}]", None, None)

    def parameter_types(self) -> dict[str, str]:
        """The declared parameters' types by name."""
        return {parameter.Name: parameter.Type for parameter in self.Parameters}


def _placed(
    step: JobStep | ConditionStep | FailStep,
    path: str,
    condition: str | None,
    branch: Branch | None,
) -> Iterator[PlacedStep]:
    yield PlacedStep(step, path, condition, branch)
    if isinstance(step, ConditionStep):
        for name in ("IfSteps", "ElseSteps"):
            inner: Branch = "IfSteps" if name == "IfSteps" else "ElseSteps"
            for index, child in enumerate(getattr(step.Arguments, name)):
                yield from _placed(child, f"{path}.Arguments.{name}[{index}]", step.Name, inner)


NotCondition.model_rebuild()
OrCondition.model_rebuild()
ConditionArguments.model_rebuild()
Definition.model_rebuild()
