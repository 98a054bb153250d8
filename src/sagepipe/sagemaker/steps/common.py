"""What every step compiler shares: the compiled-step record, images, instance types."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sagepipe.expressions import JsonValue, Parameter
from sagepipe.pipeline import CodeRef, Step
from sagepipe.sagemaker.context import CompileContext
from sagepipe.sagemaker.errors import CompileError
from sagepipe.sagemaker.images import ImageNotFoundError, ImageScope, image_uri
from sagepipe.sagemaker.target import literal_config

#: Framework and Python versions of the image that runs sagepipe's own scripts (packaging,
#: payload) when their config names none; the scripts need only the standard library.
SCRIPT_IMAGE_VERSIONS = ("2.1.0", "py310")


@dataclass
class CompiledStep:
    """One SageMaker pipeline step before the common fields are added.

    Attributes:
        name: Step name in the definition.
        step_type: SageMaker step type (``Training``, ``Processing``...).
        api: The SageMaker API whose request ``arguments`` is (``CreateTrainingJob``...).
        arguments: The request, with ``Get``/``Std:Join`` expressions.
        source: Name of the IR step it comes from.
        cacheable: Whether SageMaker accepts a ``CacheConfig`` for this type.
        retryable: Whether SageMaker accepts ``RetryPolicies`` for this type.
        depends_on: Step names it waits for (default: the IR step's ``depends_on``).
    """

    name: str
    step_type: str
    api: str
    arguments: dict[str, JsonValue]
    source: str
    cacheable: bool = False
    retryable: bool = False
    depends_on: list[str] | None = field(default=None)


def instance_type(ctx: CompileContext, step: Step, key: str) -> tuple[JsonValue, str]:
    """An instance type field: its definition value (literal or parameter) and a concrete
    value to choose the image with (a parameter's default, as the SageMaker SDK does)."""
    value = step.config.get(key)
    if isinstance(value, str):
        return value, value
    parameter = _parameter_of(ctx, value)
    if parameter is None or not isinstance(parameter.default, str):
        raise CompileError(
            f"step {step.name!r}: {key} is {value!r}; give an instance type or a String parameter"
        )
    ctx.warn(
        step,
        f"{key} is parameter {parameter.name!r}; the container image is chosen for its "
        f"default {parameter.default!r} (cpu or gpu): override it only with an instance of "
        "the same kind",
    )
    result: JsonValue = value
    return result, parameter.default


def framework_image(
    ctx: CompileContext,
    step: Step,
    scope: ImageScope,
    concrete_instance_type: str,
    fixed_versions: tuple[str, str] | None = None,
) -> str:
    """The config's ``image_uri``, else the PyTorch DLC image for its versions, or for
    ``fixed_versions`` when given: sagepipe's own scripts (packaging, payloads, data loading
    and splitting) need their Python (3.9+), whatever version the pipeline's configs share."""
    override = literal_config(step, "image_uri")
    if override:
        return str(override)
    if fixed_versions is not None:
        framework_version, py_version = fixed_versions
    else:
        framework_version = literal_config(step, "framework_version")
        py_version = literal_config(step, "py_version")
    if framework_version is None or py_version is None:
        raise CompileError(
            f"step {step.name!r} needs framework_version and py_version (e.g. 2.1.0 and "
            "py310) to choose its PyTorch image, or image_uri"
        )
    try:
        return image_uri(
            scope,
            ctx.target.region,
            str(framework_version),
            str(py_version),
            concrete_instance_type,
        )
    except ImageNotFoundError as exc:
        raise CompileError(f"step {step.name!r}: {exc}") from None


def parameter_type(ctx: CompileContext, value: JsonValue) -> str | None:
    """The type of a ``{"Get": "Parameters.X"}`` value, ``None`` for anything else."""
    parameter = _parameter_of(ctx, value)
    return parameter.parameter_type if parameter is not None else None


def _parameter_of(ctx: CompileContext, value: JsonValue) -> Parameter | None:
    if isinstance(value, dict) and isinstance(get := value.get("Get"), str):
        name = get.removeprefix("Parameters.")
        if name != get:
            for parameter in ctx.pipeline.parameters:
                if parameter.name == name:
                    return parameter
    return None


def resources(instance: JsonValue, count: JsonValue, volume: JsonValue | None) -> JsonValue:
    """``InstanceCount``/``InstanceType``/``VolumeSizeInGB`` of a job."""
    config: dict[str, JsonValue] = {"InstanceCount": count, "InstanceType": instance}
    if volume is not None:
        config["VolumeSizeInGB"] = volume
    return config


def code_of(step: Step) -> CodeRef:
    """The step's code; an error for a step built without any."""
    if step.code is None:
        raise CompileError(f"step {step.name!r} has no code (source_dir and entry point)")
    return step.code


def local_dir(step: Step, path: str) -> Path:
    """A local source directory that must exist."""
    directory = Path(path)
    if not directory.is_dir():
        raise CompileError(
            f"step {step.name!r}: source_dir {path} is not a directory; fix the path in its config"
        )
    return directory
