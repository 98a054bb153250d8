"""Property shapes: what ``step.properties`` offers, mirroring SageMaker's response shapes.

Each SageMaker step kind exposes the fields of its Describe* response (``DescribeTrainingJob``
for training, ``DescribeProcessingJob`` for processing, ...). Only the fields sagepipe steps
produce are modelled; navigating to anything else is an error that lists what exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sagepipe.errors import PropertyPathError, did_you_mean
from sagepipe.expressions import PropertyRef, property_path_tokens


@dataclass(frozen=True)
class MapShape:
    """A list whose items carry names (``Outputs``): indexed by name (``Outputs["train"]``)
    or by position (``Outputs[0]``), as the SageMaker SDK's ``PropertiesList``; ``keys``
    lists the names in the order of the items."""

    keys: tuple[str, ...]
    value: Mapping[str, object]


LEAF = None
Shape = Mapping[str, object]

_S3_OUTPUT = {"S3Output": {"S3Uri": LEAF, "LocalPath": LEAF, "S3UploadMode": LEAF}}

TRAINING: Shape = {
    "TrainingJobName": LEAF,
    "TrainingJobArn": LEAF,
    "TrainingJobStatus": LEAF,
    "ModelArtifacts": {"S3ModelArtifacts": LEAF},
    "OutputDataConfig": {"S3OutputPath": LEAF},
    "HyperParameters": LEAF,
    "FinalMetricDataList": LEAF,
}

MODEL: Shape = {
    "ModelName": LEAF,
    "ModelArn": LEAF,
    "PrimaryContainer": {"Image": LEAF, "ModelDataUrl": LEAF, "Environment": LEAF},
}

TRANSFORM: Shape = {
    "TransformJobName": LEAF,
    "TransformJobArn": LEAF,
    "TransformOutput": {"S3OutputPath": LEAF, "Accept": LEAF, "AssembleWith": LEAF},
}

REGISTER_MODEL: Shape = {
    "ModelPackageArn": LEAF,
    "ModelPackageName": LEAF,
    "ModelPackageGroupName": LEAF,
    "ModelPackageVersion": LEAF,
    "ModelApprovalStatus": LEAF,
}

ENDPOINT: Shape = {
    "EndpointName": LEAF,
    "EndpointArn": LEAF,
    "EndpointStatus": LEAF,
}


def processing(output_names: tuple[str, ...]) -> Shape:
    """The processing shape, with ``Outputs`` keyed by the step's declared output names."""
    return {
        "ProcessingJobName": LEAF,
        "ProcessingJobArn": LEAF,
        "ProcessingJobStatus": LEAF,
        "ProcessingOutputConfig": {"Outputs": MapShape(output_names, _S3_OUTPUT)},
    }


def root_ref(step_name: str, shape: Shape) -> PropertyRef:
    """The ``step.properties`` object: a reference to the step's whole response."""
    return PropertyRef(step_name, "", shape)


def navigate_attribute(ref: PropertyRef, name: str) -> PropertyRef:
    shape = ref.shape
    where = f"Steps.{ref.step_name}" + (f".{ref.path}" if ref.path else "")
    if not isinstance(shape, Mapping):
        kind = (
            "a list: index it with [name] or [position]"
            if isinstance(shape, MapShape)
            else "a value"
        )
        raise PropertyPathError(f"{where} is {kind}, it has no attribute {name!r}")
    if name not in shape:
        raise PropertyPathError(
            f"{where} has no property {name!r}{did_you_mean(name, shape)}; "
            f"it has: {', '.join(sorted(shape))}"
        )
    path = f"{ref.path}.{name}" if ref.path else name
    return PropertyRef(ref.step_name, path, shape[name])


def navigate_item(ref: PropertyRef, key: str | int) -> PropertyRef:
    """``ref[key]``: the item named ``key``, or the item at position ``key`` (an ``int``,
    written ``[0]`` in the path as the SDK writes it)."""
    shape = ref.shape
    where = f"Steps.{ref.step_name}.{ref.path}"
    if not isinstance(shape, MapShape):
        raise PropertyPathError(f"{where} is not a list; it cannot be indexed with [{key!r}]")
    declared = ", ".join(shape.keys) or "no outputs"
    # bool is an int subclass; Outputs[True] is a mistake, not Outputs[1].
    if isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(shape.keys):
            raise PropertyPathError(
                f"{where} has {len(shape.keys)} item(s), so index {key} is out of range; use "
                f"0 to {len(shape.keys) - 1} or a name (the step declares: {declared})"
                if shape.keys
                else f"{where} is empty (the step declares no outputs); index {key} is out of range"
            )
        return PropertyRef(ref.step_name, f"{ref.path}[{key}]", shape.value)
    if not isinstance(key, str):
        raise PropertyPathError(
            f"{where} is indexed by name (a str) or position (an int), not by {key!r}"
        )
    if key not in shape.keys:
        raise PropertyPathError(
            f"{where} has no entry {key!r}{did_you_mean(key, shape.keys)}; "
            f"the step declares: {declared}"
        )
    return PropertyRef(ref.step_name, f"{ref.path}['{key}']", shape.value)


def resolve_path(step_name: str, shape: Shape, path: str) -> PropertyRef:
    """Parse a property path (``ProcessingOutputConfig.Outputs['x'].S3Output.S3Uri``, or
    ``Outputs[0]``) against a shape, raising :class:`PropertyPathError` where it leaves the
    shape."""
    ref = root_ref(step_name, shape)
    for token in property_path_tokens(path):
        if token.kind == "member":
            ref = navigate_attribute(ref, str(token.key))
        else:
            ref = navigate_item(ref, token.key)
    return ref
