"""``CreateTransformJob`` (definition step type ``Transform``), offline.

``ModelName`` is a model created earlier (this execution's model step, or one recorded in the
run store). The input objects (``TransformInput.DataSource.S3DataSource``: every object under
an ``S3Prefix``, or those a ``ManifestFile`` lists; ``CompressionType`` ``Gzip`` objects are
decompressed, keeping their names) are downloaded into the step's directory and ``sagepipe
transform`` runs the model's handler chain over them in a subprocess (the engine never
imports the server stack), with the model's container environment plus the job's
``Environment``, ``ContentType``, ``SplitType`` (``None`` or ``Line``), ``BatchStrategy``,
``MaxPayloadInMB``, ``MaxConcurrentTransforms``, ``TransformOutput.Accept`` and
``AssembleWith``, and ``DataProcessing`` (``InputFilter``, ``OutputFilter``, ``JoinSource``).
Each input object's ``<name>.out`` is uploaded under ``TransformOutput.S3OutputPath``,
keeping its path below the input prefix. The properties are shaped like
``DescribeTransformJob``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagepipe.local.calls.archives import local_archive, scratch
from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.common import failure_with_tail, job_arn
from sagepipe.local.calls.inference import (
    find_model,
    serving_environment,
    string_map,
)
from sagepipe.local.errors import StepFailure
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError

SPLIT_TYPES = ("None", "Line")
OUTPUT_DIR = "transform-output"
_REASON_LINES = 15


class TransformJob:
    """Does locally what SageMaker's ``CreateTransformJob`` does."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """A split type or data type with no local meaning."""
        found = []
        transform_input = arguments.get("TransformInput")
        if not isinstance(transform_input, Mapping):
            return [f"step {step_name!r}: the request has no TransformInput"]
        split = transform_input.get("SplitType", "None")
        if isinstance(split, str) and split not in SPLIT_TYPES:
            found.append(
                f"step {step_name!r}: TransformInput.SplitType {split!r} is not supported "
                "locally; use Line or None"
            )
        source = transform_input.get("DataSource", {})
        s3 = source.get("S3DataSource") if isinstance(source, Mapping) else None
        if not isinstance(s3, Mapping):
            found.append(
                f"step {step_name!r}: TransformInput.DataSource has no S3DataSource; the local "
                "engine reads transform input from s3:// objects"
            )
        return found

    def run(self, context: CallContext) -> StepOutcome:
        """Transform every input object with the model."""
        request = context.request
        what = f"transform job {context.job_name}"
        model = find_model(context.home, request.get("ModelName"), what)
        transform_input = _mapping(request.get("TransformInput"), "TransformInput")
        output = _mapping(request.get("TransformOutput"), "TransformOutput")
        destination = output.get("S3OutputPath")
        if not isinstance(destination, str) or not destination:
            raise StepFailure(f"TransformOutput.S3OutputPath is {destination!r}; give an s3:// URI")
        archive = local_archive(
            context.storage, model.model_data_url, scratch(context.layout.step_dir), what
        )
        input_dir = context.layout.step_dir / "transform-input"
        count = _download_inputs(context.storage, transform_input, input_dir)
        output_dir = context.layout.step_dir / OUTPUT_DIR
        environment = {
            **model.environment,
            **string_map(request.get("Environment"), "Environment"),
        }
        command = [
            sys.executable,
            "-m",
            "sagepipe",
            "transform",
            str(archive),
            "--input",
            str(input_dir),
            "--output",
            str(output_dir),
            *_options(request, transform_input, output),
        ]
        context.log(f"sagepipe: transforming {count} object(s) with model {model.name}")
        started = time.monotonic()
        result = subprocess.run(
            command,
            env=serving_environment(environment, context.home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        for line in (result.stdout + result.stderr).splitlines():
            context.log(line)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-_REASON_LINES:]
            raise StepFailure(
                failure_with_tail("batch transform failed", "\n".join(tail), context.layout.log)
            )
        uris = context.uploader.upload_tree(output_dir, destination)
        context.log(f"sagepipe: wrote {len(uris)} object(s) to {destination}")
        return StepOutcome(
            properties=_describe(context, model.name, seconds),
            outputs=[{"uri": destination, "objects": len(uris)}],
            process_seconds=seconds,
        )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StepFailure(f"{where} must be an object; got {value!r}")
    return value


def _options(
    request: Mapping[str, Any], transform_input: Mapping[str, Any], output: Mapping[str, Any]
) -> list[str]:
    """The job's settings as ``sagepipe transform`` options (SageMaker's defaults)."""
    processing = _mapping(request.get("DataProcessing") or {}, "DataProcessing")
    split = str(transform_input.get("SplitType") or "None")
    if split not in SPLIT_TYPES:
        raise StepFailure(f"TransformInput.SplitType {split!r} is not supported; use Line or None")
    options = [
        "--content-type",
        str(transform_input.get("ContentType") or "application/octet-stream"),
        "--split-type",
        split,
        "--batch-strategy",
        str(request.get("BatchStrategy") or "SingleRecord"),
        "--max-payload-mb",
        str(request.get("MaxPayloadInMB", 6)),
        "--assemble-with",
        str(output.get("AssembleWith") or "None"),
        "--join-source",
        str(processing.get("JoinSource") or "None"),
        "--input-filter",
        str(processing.get("InputFilter") or "$"),
        "--output-filter",
        str(processing.get("OutputFilter") or "$"),
        "--max-concurrent",
        str(request.get("MaxConcurrentTransforms") or 1),
    ]
    if output.get("Accept"):
        options += ["--accept", str(output["Accept"])]
    return options


def _download_inputs(storage: Storage, transform_input: Mapping[str, Any], dest: Path) -> int:
    """Fetch the input objects into ``dest`` (decompressed for ``Gzip``); returns how many."""
    source = _mapping(
        _mapping(transform_input.get("DataSource"), "TransformInput.DataSource").get(
            "S3DataSource"
        ),
        "TransformInput.DataSource.S3DataSource",
    )
    uri = source.get("S3Uri")
    if not isinstance(uri, str) or not uri:
        raise StepFailure(f"TransformInput.DataSource.S3DataSource.S3Uri is {uri!r}")
    data_type = source.get("S3DataType", "S3Prefix")
    if data_type == "ManifestFile":
        files = _manifest_inputs(storage, uri, dest)
    elif data_type == "S3Prefix":
        files = _fetch(storage, uri, dest)
    else:
        raise StepFailure(
            f"TransformInput S3DataType {data_type!r} is not supported; use S3Prefix or "
            "ManifestFile"
        )
    if not files:
        raise StepFailure(f"the transform input {uri} holds no objects to transform")
    compression = transform_input.get("CompressionType") or "None"
    if compression == "Gzip":
        for path in files:
            _gunzip_in_place(path, uri)
    elif compression != "None":
        raise StepFailure(f"TransformInput.CompressionType {compression!r}: use None or Gzip")
    return len(files)


def _fetch(storage: Storage, uri: str, dest: Path) -> list[Path]:
    try:
        return storage.get_prefix(uri, dest)
    except ObjectNotFoundError:
        raise StepFailure(
            f"the transform input {uri} does not exist (no object and no objects under that "
            "prefix); check the step producing it wrote there"
        ) from None
    except StorageError as exc:
        raise StepFailure(f"the transform input {uri} cannot be downloaded: {exc}") from None


def _manifest_inputs(storage: Storage, uri: str, dest: Path) -> list[Path]:
    """The objects a manifest lists: ``[{"prefix": P}, "key", ...]``, each at ``P + key``."""
    manifest_dir = dest.parent / "transform-manifest"
    manifest = _fetch(storage, uri, manifest_dir)[0]
    try:
        entries = json.loads(manifest.read_text())
        prefix = entries[0]["prefix"]
        keys = entries[1:]
    except (ValueError, LookupError, TypeError):
        raise StepFailure(
            f'the manifest {uri} is not [{{"prefix": "s3://..."}}, "key", ...]'
        ) from None
    files = []
    for key in keys:
        if not isinstance(key, str) or ".." in key.split("/"):
            raise StepFailure(f"the manifest {uri} lists {key!r}, which is no object key")
        target = dest.joinpath(*key.split("/"))
        try:
            storage.get_file(prefix + key, target)
        except StorageError as exc:
            raise StepFailure(f"the manifest {uri} lists {prefix + key}: {exc}") from None
        files.append(target)
    return files


def _gunzip_in_place(path: Path, uri: str) -> None:
    unpacked = path.with_name(f".{path.name}.gunzip")
    try:
        with gzip.open(path, "rb") as compressed, unpacked.open("wb") as plain:
            shutil.copyfileobj(compressed, plain)
    except (OSError, EOFError) as exc:
        raise StepFailure(
            f"the transform input {path.name} under {uri} is not gzip (CompressionType Gzip): {exc}"
        ) from None
    unpacked.replace(path)


def _describe(context: CallContext, model_name: str, seconds: float) -> dict[str, Any]:
    """The properties, shaped like ``DescribeTransformJob``."""
    request = context.request
    ended = datetime.now(UTC)
    properties: dict[str, Any] = {
        "TransformJobName": context.job_name,
        "TransformJobArn": job_arn(context.region, "transform-job", context.job_name),
        "TransformJobStatus": "Completed",
        "ModelName": model_name,
        "TransformEndTime": ended.isoformat(),
        "TransformStartTime": datetime.fromtimestamp(ended.timestamp() - seconds, UTC).isoformat(),
    }
    for key in (
        "TransformInput",
        "TransformOutput",
        "TransformResources",
        "DataProcessing",
        "BatchStrategy",
        "MaxPayloadInMB",
        "MaxConcurrentTransforms",
        "Environment",
        "ModelClientConfig",
    ):
        if key in request:
            properties[key] = request[key]
    return properties
