"""What a ``Get`` of ``Steps.<step>.<path>`` may read: the step's properties.

A job step's properties are its Describe* response (botocore's shapes, walked by
:func:`sagepipe.service_model.property_shape`); a condition step has ``Outcome``; a fail step
has none; ``PropertyFiles.<name>`` names a property file the step declares (for
``Std:JsonGet``).
"""

from __future__ import annotations

from sagepipe import service_model
from sagepipe.errors import PropertyPathError, did_you_mean
from sagepipe.local.definition.model import ConditionStep, FailStep, JobStep

#: The Describe* call whose response a job step's properties mirror.
RESPONSE_APIS: dict[str, str] = {
    **{step_type: apis[1] for step_type, apis in service_model.STEP_APIS.items()},
    "CreateModel": "DescribeModel",
}


def property_problem(step: JobStep | ConditionStep | FailStep, path: str) -> str | None:
    """Why ``path`` is not a property of ``step``; ``None`` when it is."""
    if isinstance(step, FailStep):
        return "a Fail step has no properties (it ends the execution)"
    if isinstance(step, ConditionStep):
        if path != "Outcome":
            return f"a Condition step has only the property Outcome, not {path!r}"
        return None
    head, _, name = path.partition(".")
    if head == "PropertyFiles":
        declared = [f.PropertyFileName for f in step.PropertyFiles]
        if name not in declared:
            return (
                f"step {step.Name!r} declares no property file {name!r}"
                f"{did_you_mean(name, declared)}; it declares: {', '.join(declared) or 'none'}"
            )
        return None
    try:
        service_model.property_shape(step.Type, RESPONSE_APIS[step.Type], path)
    except PropertyPathError as exc:
        return f"{exc} ({RESPONSE_APIS[step.Type]} is what its properties mirror)"
    return None
