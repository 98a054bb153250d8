"""The state shared by the step compilers: target, planned uploads, warnings, helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Pipeline, Step
from sagepipe.sagemaker.bundles import Bundle, path_files
from sagepipe.sagemaker.errors import CompileError
from sagepipe.sagemaker.target import Target

UploadKind = Literal["archive", "files"]
_STEP_GET = re.compile(r"^Steps\.([A-Za-z0-9_\-]+)\.(.+)$")

#: The object a sagepipe processing step writes into its output prefix, by step type; inputs
#: that need an object (ModelDataUrl, SamplePayloadUrl) point at it.
OUTPUT_OBJECTS: dict[str, str] = {
    "PackagingStep": "model.tar.gz",
    "PayloadStep": "payload.tar.gz",
}


@dataclass(frozen=True)
class Upload:
    """Something ``submit`` must put on S3 before the pipeline runs.

    Attributes:
        uri: ``s3://`` URI of the archive object, or of the prefix the files go under.
        bundle: The files.
        kind: ``archive`` (one ``sourcedir.tar.gz``) or ``files`` (each file under ``uri``).
    """

    uri: str
    bundle: Bundle
    kind: UploadKind


@dataclass
class CompileContext:
    """What a step compiler needs besides its step."""

    pipeline: Pipeline
    target: Target
    uploads: dict[str, Upload] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _bundles: dict[Any, Bundle] = field(default_factory=dict)

    # --- configuration ---------------------------------------------------------------

    def role(self, step: Step) -> JsonValue:
        """The step's role: ``--role``, else its config's ``role``."""
        role = self.target.role or step.config.get("role")
        if role is None:
            raise CompileError(
                f"step {step.name!r} has no IAM role: pass --role ARN or set role in its config"
            )
        value: JsonValue = role
        return value

    def warn(self, step: Step, message: str) -> None:
        self.warnings.append(f"step {step.name!r}: {message}")

    # --- code and data ---------------------------------------------------------------

    def bundle(self, key: Any, build: Any) -> Bundle:
        """The bundle for ``key``, built once per compile by ``build()``."""
        if key not in self._bundles:
            self._bundles[key] = build()
        return self._bundles[key]

    def archive_uri(self, bundle: Bundle) -> str:
        """``s3://<bucket>/<prefix>/code/<sha256>/sourcedir.tar.gz``, planned for upload."""
        uri = self.target.uri("code", bundle.digest, "sourcedir.tar.gz")
        self.uploads[uri] = Upload(uri, bundle, "archive")
        return uri

    def files_uri(self, bundle: Bundle) -> str:
        """``s3://<bucket>/<prefix>/code/<sha256>/files/``: the bundle's files unpacked, for
        processing jobs (S3 does not unpack archives)."""
        uri = self.target.uri("code", bundle.digest, "files") + "/"
        self.uploads[uri] = Upload(uri, bundle, "files")
        return uri

    def input_value(self, step: Step, name: str) -> JsonValue:
        """The S3 form of a step input: expressions and ``s3://`` URIs as they are; a local
        file or directory is planned for upload under ``data/<sha256>/``."""
        binding = step.inputs.get(name)
        if binding is None:
            raise CompileError(f"step {step.name!r} has no value for input {name!r}")
        value = binding.value
        if isinstance(value, dict):
            result: JsonValue = value
            return result
        if not isinstance(value, str) or not value:
            raise CompileError(
                f"step {step.name!r} input {name!r} is {value!r}; give an s3:// URI, a local "
                "path or a pipeline expression"
            )
        if value.startswith("s3://"):
            return value
        path = Path(value.removeprefix("file://"))
        if not path.is_absolute():
            path = self.pipeline.root / path
        if not path.exists():
            raise CompileError(
                f"step {step.name!r} input {name!r} is the local path {path}, which does not "
                "exist; fix the path or give an s3:// URI"
            )
        bundle = self.bundle(("data", str(path)), lambda: Bundle.of(path_files(path), str(path)))
        base = self.target.uri("data", bundle.digest) + "/"
        self.uploads[base] = Upload(base, bundle, "files")
        return base + (path.name if path.is_file() else "")

    def object_value(self, step: Step, name: str) -> JsonValue:
        """Like :meth:`input_value`, for fields that need one object: an output prefix of a
        packaging or payload step is completed with the archive name it holds."""
        value = self.input_value(step, name)
        producer = self.producer(value)
        if producer is not None and producer.step_type in OUTPUT_OBJECTS:
            return join("/", [value, OUTPUT_OBJECTS[producer.step_type]])
        return value

    def producer(self, value: JsonValue) -> Step | None:
        """The step a ``{"Get": "Steps.<name>..."}`` value reads from, if any."""
        if isinstance(value, dict) and isinstance(get := value.get("Get"), str):
            match = _STEP_GET.match(get)
            if match and match.group(1) in {s.name for s in self.pipeline.steps}:
                return self.pipeline.step(match.group(1))
        return None

    def execution_uri(self, *parts: str) -> JsonValue:
        """``s3://<bucket>/<prefix>/<execution id>/<parts...>`` as a ``Std:Join``, the
        SageMaker SDK's default for outputs."""
        head = [p for p in (self.target.bucket, *self.target.prefix.split("/")) if p]
        return join("/", ["s3:/", *head, {"Get": "Execution.PipelineExecutionId"}, *parts])


def join(on: str, values: list[JsonValue]) -> JsonValue:
    """A ``Std:Join`` expression."""
    return {"Std:Join": {"On": on, "Values": values}}


def tags(step: Step) -> list[JsonValue]:
    """The config's tags as SageMaker ``Tags``, sorted by key."""
    raw = step.config.get("tags") or {}
    return [{"Key": k, "Value": v} for k, v in sorted(raw.items())]


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and (set(value) == {"Get"} or set(value) == {"Std:Join"})
