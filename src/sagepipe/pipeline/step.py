"""The IR of one step: a plain, serialisable description that backends read."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from sagepipe.expressions import Parameter, PropertyRef
from sagepipe.pipeline import properties as shapes
from sagepipe.pipeline.specification import OutputSpec, StepSpecification

# SageMaker's step name rule.
STEP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-_]{0,63}$"


class CodeRef(BaseModel):
    """A step's code: a source directory (``s3://`` or a local path), its entry point and
    extra dependency paths. Local paths are kept absolute in memory and written relative to
    the pipeline root in the IR's JSON form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_dir: str
    entry_point: str
    dependencies: tuple[str, ...] = ()

    def is_local(self) -> bool:
        return not self.source_dir.startswith("s3://")

    def relative_to(self, root: Path) -> CodeRef:
        return self.model_copy(
            update={
                "source_dir": _rel(self.source_dir, root),
                "dependencies": tuple(_rel(d, root) for d in self.dependencies),
            }
        )

    def absolute_from(self, root: Path) -> CodeRef:
        return self.model_copy(
            update={
                "source_dir": _abs(self.source_dir, root),
                "dependencies": tuple(_abs(d, root) for d in self.dependencies),
            }
        )


def _rel(path: str, root: Path) -> str:
    if path.startswith("s3://"):
        return path
    import os

    return Path(os.path.relpath(path, root)).as_posix()


def _abs(path: str, root: Path) -> str:
    if path.startswith("s3://"):
        return path
    return str((root / path).resolve())


class InputBinding(BaseModel):
    """The value of one step input and why it was chosen.

    Attributes:
        value: JSON of the value: a literal URI or an expression (``{"Get": ...}``).
        source: ``explicit`` (given by the user) or ``resolved`` (wired by the resolver).
        reason: One sentence saying where the value comes from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Any
    source: str
    reason: str


class Step(BaseModel):
    """One step of the IR.

    Attributes:
        name: Unique step name within the pipeline.
        step_type: Step type (``PyTorchTrainingStep``...); selects the runner and compiler.
        config_type: Name of the config class the step was built from.
        config: The config's JSON form; parameter-bound fields hold ``{"Get": ...}``.
        code: The step's code, if it runs user code.
        inputs: Input bindings by logical input name.
        specification: The step's specification (outputs with types and property paths).
        depends_on: Names of the steps this one waits for (sorted).
        cache: Whether a backend may reuse a previous run of an identical step.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=STEP_NAME_PATTERN)
    step_type: str
    config_type: str
    config: dict[str, Any]
    code: CodeRef | None = None
    inputs: dict[str, InputBinding] = Field(default_factory=dict)
    specification: StepSpecification
    depends_on: tuple[str, ...] = ()
    cache: bool = True

    # The Parameter objects used in config and inputs (their definitions live at pipeline
    # level in the JSON form, so they are not serialised with the step).
    _parameters: tuple[Parameter, ...] = PrivateAttr(default=())

    @property
    def attached_parameters(self) -> tuple[Parameter, ...]:
        return self._parameters

    def with_parameters(self, parameters: tuple[Parameter, ...]) -> Step:
        self._parameters = tuple(dict.fromkeys(parameters))
        return self

    @property
    def outputs(self) -> tuple[OutputSpec, ...]:
        return self.specification.outputs

    @property
    def properties(self) -> PropertyRef:
        """``step.properties``: references to the step's SageMaker response fields."""
        return shapes.root_ref(self.name, self.property_shape())

    def property_shape(self) -> shapes.Shape:
        kind = self.specification.kind
        if kind == "Processing":
            return shapes.processing(tuple(o.logical_name for o in self.outputs))
        table: dict[str, shapes.Shape] = {
            "Training": shapes.TRAINING,
            "Model": shapes.MODEL,
            "Transform": shapes.TRANSFORM,
            "RegisterModel": shapes.REGISTER_MODEL,
            "Endpoint": shapes.ENDPOINT,
        }
        return table[kind]

    def output_ref(self, logical_name: str) -> PropertyRef:
        """The property reference of one declared output."""
        from sagepipe.errors import PipelineDefinitionError, did_you_mean

        for output in self.outputs:
            if logical_name in output.names():
                return shapes.resolve_path(self.name, self.property_shape(), output.property_path)
        names = [o.logical_name for o in self.outputs]
        raise PipelineDefinitionError(
            f"step {self.name!r} has no output {logical_name!r}"
            f"{did_you_mean(logical_name, names)}; it offers: {', '.join(names) or 'none'}"
        )

    def ir_json(self, root: Path) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if self.code is not None:
            data["code"] = self.code.relative_to(root).model_dump(mode="json")
        return map_local_data(data, lambda path: _rel(path, root) if _is_absolute(path) else path)

    @classmethod
    def from_ir_json(cls, data: dict[str, Any], root: Path) -> Step:
        """Rebuild a step from :meth:`ir_json` output; ``root`` anchors relative paths."""
        data = map_local_data(data, lambda path: path if _is_absolute(path) else _abs(path, root))
        step = cls.model_validate(data)
        if step.code is not None:
            step = step.model_copy(update={"code": step.code.absolute_from(root)})
        return step


def _is_absolute(path: str) -> bool:
    return Path(path).is_absolute()


def map_local_data(data: dict[str, Any], convert: Callable[[str], str]) -> dict[str, Any]:
    """``data`` (a step's JSON form) with ``convert`` applied to each local data path: an
    input's literal value and a config input's ``source`` that are neither URIs nor
    expressions. Like code paths, they are absolute in memory and relative to the pipeline
    root in the IR's JSON, so the JSON names no directory of this machine."""

    def local(value: Any) -> bool:
        return isinstance(value, str) and bool(value) and "://" not in value

    data = copy.deepcopy(data)
    for binding in (data.get("inputs") or {}).values():
        if local(binding.get("value")):
            binding["value"] = convert(binding["value"])
    config_inputs = (data.get("config") or {}).get("inputs")
    for item in config_inputs if isinstance(config_inputs, list) else []:
        if isinstance(item, dict) and local(item.get("source")):
            item["source"] = convert(item["source"])
    return data
