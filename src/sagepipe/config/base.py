"""The base of every config model: strict pydantic, parameter binding, readable errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sagepipe.config.messages import format_validation_error
from sagepipe.expressions import JsonValue, Parameter, parameters_in, to_json


class ConfigModel(BaseModel):
    """A frozen, strict pydantic model whose top-level fields may hold pipeline parameters.

    A :class:`~sagepipe.expressions.Parameter` given for a field is validated through its
    default (so a parameter's default obeys the same rules as a literal) and remembered, so
    the IR refers to the parameter instead of the value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    #: Whether a config file keeps the fields set explicitly rather than the non-default
    #: ones (the difference matters where only set fields reach a script).
    dump_set_fields: ClassVar[bool] = False
    #: Fields of this model, beyond the shared ``source_dir``/``dependencies``/``path``, that
    #: hold a local path or a URI: a config file writes the path relative to itself.
    local_path_fields: ClassVar[frozenset[str]] = frozenset()

    _parameter_bindings: dict[str, Parameter] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise format_validation_error(exc, type(self)) from None

    # Tell pydantic this __init__ only translates errors: without the flag pydantic calls it
    # for nested models and model_validate(), which drops the validation context (base_dir)
    # and wraps a nested model's ConfigValidationError inside its parent's message.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="wrap")
    @classmethod
    def _bind_parameters(cls, data: Any, handler: Any) -> Any:
        bindings: dict[str, Parameter] = {}
        if isinstance(data, dict):
            data = dict(data)
            for key, value in data.items():
                if isinstance(value, Parameter):
                    bindings[key] = value
                    data[key] = value.default
        model = handler(data)
        if bindings:
            model._parameter_bindings = bindings
        return model

    @property
    def parameter_bindings(self) -> dict[str, Parameter]:
        """Fields bound to pipeline parameters, by field name."""
        return dict(self._parameter_bindings)

    def parameters(self) -> tuple[Parameter, ...]:
        """Every parameter bound in this config or in nested configs."""
        found = list(self._parameter_bindings.values())
        for name in type(self).model_fields:
            value = getattr(self, name)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ConfigModel):
                    found.extend(item.parameters())
            if isinstance(value, dict):
                found.extend(parameters_in(value))  # parameters inside a free-form mapping
        return tuple(found)

    def ir_dump(self, exclude: frozenset[str] = frozenset()) -> dict[str, JsonValue]:
        """JSON form for the IR: parameter-bound fields become ``{"Get": "Parameters.X"}``."""
        out: dict[str, JsonValue] = {}
        for name in type(self).model_fields:
            if name in exclude:
                continue
            value = getattr(self, name)
            if name in self._parameter_bindings:
                out[name] = self._parameter_bindings[name].to_json()
            elif isinstance(value, ConfigModel):
                out[name] = value.ir_dump()
            elif isinstance(value, list) and any(isinstance(v, ConfigModel) for v in value):
                out[name] = [v.ir_dump() if isinstance(v, ConfigModel) else v for v in value]
            elif isinstance(value, dict) and parameters_in(value):
                out[name] = to_json(value)
            else:
                out[name] = _json(self, name)
        return out

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, ConfigModel)
            and self.__dict__ == other.__dict__
            and self._parameter_bindings == other._parameter_bindings
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.__dict__)))


def _json(model: BaseModel, name: str) -> JsonValue:
    dumped: dict[str, JsonValue] = model.model_dump(mode="json", include={name})
    return dumped[name]


# --- shared field types -------------------------------------------------------------------

_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_FRAMEWORK_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_PY_VERSION = re.compile(r"^py[23]\d{0,2}$")  # py2, py3, py36 ... py313 (the image tags)

BASE_DIR_CONTEXT_KEY = "base_dir"


def is_s3_uri(value: str) -> bool:
    return value.startswith("s3://")


def resolve_data_source(value: str | None, info: ValidationInfo) -> str | None:
    """A data step's ``source``: ``None`` and URIs as they are, a local path made absolute
    (see :func:`resolve_local_dir`).

    Raises:
        ValueError: the source is empty.
    """
    if value is None or "://" in value:
        return value
    if not value:
        raise ValueError("source is empty; give an s3:// URI or a local path")
    return resolve_local_dir(value, info)


def resolve_local_dir(value: str, info: ValidationInfo) -> str:
    """Make a local directory absolute (relative to the config file, else the working dir)."""
    if is_s3_uri(value):
        return value
    base = (info.context or {}).get(BASE_DIR_CONTEXT_KEY) or Path.cwd()
    return str((Path(base) / Path(value).expanduser()).resolve())


def _check_region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not an AWS region such as us-east-1")
    return value


def _check_framework_version(value: str) -> str:
    if not _FRAMEWORK_VERSION.match(value):
        raise ValueError(f"{value!r} is not a framework version such as 2.1.0")
    return value


def _check_py_version(value: str) -> str:
    if not _PY_VERSION.match(value):
        raise ValueError(f"{value!r} is not a Python version such as py310")
    return value


Region = Annotated[str, AfterValidator(_check_region)]
FrameworkVersion = Annotated[str, AfterValidator(_check_framework_version)]
PyVersion = Annotated[str, AfterValidator(_check_py_version)]

# SageMaker's instance families (ml.<family>.<size>); an unknown family is a typo, not a type.
# fmt: off
INSTANCE_FAMILIES: frozenset[str] = frozenset((
    "t2", "t3", "m4", "m5", "m5d", "m6i", "m6id", "m6g", "m6gd", "m7i",
    "c4", "c5", "c5d", "c5n", "c6i", "c6id", "c6g", "c6gn", "c7i", "c7g",
    "r5", "r5d", "r6i", "r6g", "r7i",
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en",
    "g4dn", "g4ad", "g5", "g6", "g6e", "gr6", "trn1", "trn1n", "trn2", "inf1", "inf2",
))
# fmt: on
_INSTANCE_TYPE = re.compile(r"^ml\.([a-z0-9]+)\.([a-z0-9]+)$")


def check_instance_type(value: str) -> str:
    """Validate a SageMaker ``ml.<family>.<size>`` instance type of a known family."""
    match = _INSTANCE_TYPE.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a SageMaker instance type: use ml.<family>.<size>, e.g. ml.m5.xlarge"
        )
    if match.group(1) not in INSTANCE_FAMILIES:
        raise ValueError(
            f"{value!r} has an unknown instance family {match.group(1)!r}; known families: "
            + ", ".join(sorted(INSTANCE_FAMILIES))
        )
    return value


InstanceType = Annotated[str, AfterValidator(check_instance_type)]


def _check_s3_uri(value: str) -> str:
    if not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ValueError(f"{value!r} is not an s3:// URI such as s3://bucket/prefix")
    return value


S3Uri = Annotated[str, AfterValidator(_check_s3_uri)]
PositiveInt = Annotated[int, Field(ge=1)]


class BasePipelineConfig(ConfigModel):
    """Fields shared by every step of a pipeline.

    Attributes:
        pipeline_name: Name of the pipeline (SageMaker pipeline name rules).
        pipeline_version: Free-form version recorded with the pipeline.
        region: AWS region; default ``us-east-1``.
        role: IAM execution role ARN; required only to submit to SageMaker.
        bucket: S3 bucket for artifacts; the local engine uses ``sagepipe-local`` when unset.
        prefix: Key prefix under the bucket; defaults to the pipeline name.
        framework_version: PyTorch framework version of the containers (e.g. ``2.1.0``).
        py_version: Python version of the containers (e.g. ``py310``).
        tags: Tags put on the SageMaker resources.
    """

    step_type: ClassVar[str] = ""

    pipeline_name: str = Field(
        default="sagepipe-pipeline", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
    )
    pipeline_version: str = "1.0.0"
    region: Region = "us-east-1"
    role: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    framework_version: FrameworkVersion | None = None
    py_version: PyVersion | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("role")
    @classmethod
    def _check_role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an IAM role ARN such as "
                "arn:aws:iam::123456789012:role/SageMakerRole"
            )
        return value

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, value: str | None) -> str | None:
        if value is not None and (not _BUCKET.match(value) or ".." in value):
            raise ValueError(
                f"{value!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, "
                "dots and hyphens)"
            )
        return value

    @property
    def effective_prefix(self) -> str:
        """The key prefix used for this pipeline's artifacts."""
        return self.prefix if self.prefix is not None else self.pipeline_name
