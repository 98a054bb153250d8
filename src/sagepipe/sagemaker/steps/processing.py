"""ProcessingStep, PackagingStep and PayloadStep -> ``Processing`` steps (CreateProcessingJob).

Every processing job runs ``python3 /opt/ml/processing/input/code/<entry point>`` in the
PyTorch training image (as the SageMaker SDK's framework processors use it). The ``code``
input is a content-hashed prefix, ``code/<sha256>/files/``, holding the files of the step's
bundle one by one (S3 does not unpack archives), so the script's sibling modules import.

The packaging and payload steps run sagepipe's own scripts
(:mod:`sagepipe.sagemaker.container`): each bundle is that standalone, standard-library-only
script, a small JSON config written from the step's config, and (packaging) the inference code
under ``inference_code/`` or (payload) the user's local sample files under ``samples/`` (their
``s3://`` samples are inputs of the job). Nothing is installed in the container, so no network
is needed.
"""

from __future__ import annotations

import json
from importlib import resources as package_files
from pathlib import Path

from sagepipe.artifacts.errors import PayloadError
from sagepipe.artifacts.sample_files import (
    MAX_SAMPLE_BYTES,
    check_sample,
    local_sample_files,
    sample_content_type,
)
from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.bundles import Bundle, BundleFile, dependency_files, directory_files
from sagepipe.sagemaker.context import CompileContext, is_expression, tags
from sagepipe.sagemaker.errors import CompileError
from sagepipe.sagemaker.steps.common import (
    SCRIPT_IMAGE_VERSIONS,
    CompiledStep,
    code_of,
    framework_image,
    instance_type,
    local_dir,
    resources,
)

ROOT = "/opt/ml/processing"
CODE_PATH = f"{ROOT}/input/code"
DEFAULT_VOLUME_GB = 30
DEFAULT_MAX_RUNTIME_S = 86400


def compile_processing(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    code = code_of(step)
    if not code.is_local():
        raise CompileError(
            f"step {step.name!r}: a processing source_dir must be a local directory on "
            f"SageMaker (got {code.source_dir})"
        )
    bundle = ctx.bundle(
        ("files", code.source_dir),
        lambda: Bundle.of(directory_files(local_dir(step, code.source_dir)), code.source_dir),
    )
    inputs = []
    for item in config["inputs"]:
        if item["name"] == "code":
            raise CompileError(
                f"step {step.name!r}: the input name 'code' is taken by the step's code on "
                "SageMaker; rename the input"
            )
        path = item.get("destination") or f"{ROOT}/input/{item['name']}"
        if item["name"] in step.inputs:
            inputs.append(processing_input(item["name"], ctx.input_value(step, item["name"]), path))
    outputs = [
        (o["name"], o.get("source") or f"{ROOT}/output/{o['name']}", o.get("destination"))
        for o in config["outputs"]
    ]
    return [
        job(
            ctx,
            step,
            entry_point=code.entry_point,
            code_uri=ctx.files_uri(bundle),
            inputs=inputs,
            outputs=outputs,
            instance_key="processing_instance_type",
            count=config["processing_instance_count"],
            volume=config["processing_volume_size"],
            max_runtime=config["max_runtime_seconds"],
            arguments=list(config.get("arguments") or []),
            environment=dict(config.get("env") or {}),
        )
    ]


def compile_packaging(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    code = code_of(step)
    settings = {
        "entry_point": code.entry_point,
        "compression_level": _literal(step, "compression_level"),
    }
    # Code already on S3 (an estimator's sourcedir.tar.gz, or a prefix of files) is an input
    # of the job, as the SDK's repack step reads it; local code travels in the bundle.
    remote = code.source_dir.startswith("s3://")
    bundle = ctx.bundle(
        ("packaging", code.source_dir, code.dependencies, json.dumps(settings, sort_keys=True)),
        lambda: Bundle.of(
            [
                _script("package_model.py"),
                _settings("sagepipe_packaging.json", settings),
                *(
                    []
                    if remote
                    else directory_files(local_dir(step, code.source_dir), prefix="inference_code/")
                ),
                *(
                    BundleFile(f"inference_code/{f.arcname}", f.source, f.data, f.executable)
                    for f in dependency_files(code.dependencies)
                ),
            ],
            f"packaging bundle of {code.source_dir}",
        ),
    )
    inputs = [
        processing_input("model_input", ctx.input_value(step, "model_input"), f"{ROOT}/input/model")
    ]
    if remote:
        inputs.append(
            processing_input("inference_code", code.source_dir, f"{ROOT}/input/inference_code")
        )
    output = ("packaged_model", f"{ROOT}/output/packaged_model", None)
    return [_script_job(ctx, step, "package_model.py", bundle, inputs, output)]


def compile_payload(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    samples = _literal(step, "samples")
    if isinstance(samples, list) and samples:
        return _compile_sample_files(ctx, step, samples)
    keys = ("content_types", "default_numeric_value", "default_text_value", "field_defaults")
    settings = {key: _literal(step, key) for key in (*keys, "sample_count", "hyperparameters")}
    bundle = ctx.bundle(
        ("payload", json.dumps(settings, sort_keys=True)),
        lambda: Bundle.of(
            [_script("make_payload.py"), _settings("sagepipe_payload.json", settings)],
            "payload bundle",
        ),
    )
    model = processing_input(
        "model_input", ctx.input_value(step, "model_input"), f"{ROOT}/input/model"
    )
    output = ("payload_sample", f"{ROOT}/output/payload_sample", None)
    return [_script_job(ctx, step, "make_payload.py", bundle, [model], output)]


def _compile_sample_files(
    ctx: CompileContext, step: Step, samples: list[dict[str, str | None]]
) -> list[CompiledStep]:
    """The payload job of user-supplied samples: local files travel in the code bundle under
    ``samples/``, ``s3://`` ones are inputs under ``/opt/ml/processing/input/samples/<n>``;
    the script checks them all again and packs them with a manifest."""
    entries: list[dict[str, str | None]] = []
    files: list[BundleFile] = []
    inputs: list[JsonValue] = []
    for index, sample in enumerate(samples):
        if not isinstance(sample["path"], str):
            # The samples are checked and bundled when the pipeline is compiled: a value
            # known only when it runs cannot be.
            raise CompileError(
                f"step {step.name!r}: samples[{index}].path is a pipeline parameter; sample "
                "files must be known when the pipeline is compiled: give the path or "
                "s3:// URI itself"
            )
        path, content_type = sample["path"], sample.get("content_type")
        if path.startswith("s3://"):
            local_path = f"{ROOT}/input/samples/{index}"
            inputs.append(processing_input(f"samples-{index}", path, local_path))
            entries.append({"uri": path, "input": local_path, "content_type": content_type})
            continue
        for file, file_type in _local_samples(step, index, path, content_type):
            # Only the file name is kept: a definition must not depend on where the project
            # sits on disk.
            files.append(BundleFile(f"samples/{file.name}", source=file))
            entries.append({"file": f"samples/{file.name}", "content_type": file_type})
    settings = {"samples": entries, "max_sample_bytes": MAX_SAMPLE_BYTES}
    bundle = ctx.bundle(
        ("payload-samples", json.dumps(samples, sort_keys=True)),
        lambda: Bundle.of(
            [_script("make_payload.py"), _settings("sagepipe_payload.json", settings), *files],
            "payload bundle of the sample files",
        ),
    )
    model = processing_input(
        "model_input", ctx.input_value(step, "model_input"), f"{ROOT}/input/model"
    )
    output = ("payload_sample", f"{ROOT}/output/payload_sample", None)
    return [_script_job(ctx, step, "make_payload.py", bundle, [model, *inputs], output)]


def _local_samples(
    step: Step, index: int, path: str, content_type: str | None
) -> list[tuple[Path, str]]:
    """The files of a local sample entry, checked again now (they may have changed since the
    config was built), each with its content type."""
    found = []
    try:
        for file in local_sample_files(Path(path)):
            file_type = sample_content_type(str(file), content_type)
            check_sample(str(file), file.read_bytes(), file_type)
            found.append((file, file_type))
    except PayloadError as exc:
        raise CompileError(f"step {step.name!r}: samples[{index}]: {exc}") from None
    return found


def _script_job(
    ctx: CompileContext,
    step: Step,
    script: str,
    bundle: Bundle,
    inputs: list[JsonValue],
    output: tuple[str, str, str | None],
) -> CompiledStep:
    return job(
        ctx,
        step,
        entry_point=script,
        code_uri=ctx.files_uri(bundle),
        inputs=inputs,
        outputs=[output],
        instance_key="processing_instance_type",
        count=1,
        volume=DEFAULT_VOLUME_GB,
        max_runtime=DEFAULT_MAX_RUNTIME_S,
        arguments=[],
        environment={},
        fixed_versions=SCRIPT_IMAGE_VERSIONS,
    )


def job(
    ctx: CompileContext,
    step: Step,
    *,
    entry_point: str,
    code_uri: str,
    inputs: list[JsonValue],
    outputs: list[tuple[str, str, str | None]],
    instance_key: str,
    count: JsonValue,
    volume: JsonValue,
    max_runtime: JsonValue,
    arguments: list[str],
    environment: dict[str, str],
    fixed_versions: tuple[str, str] | None = None,
) -> CompiledStep:
    """A CreateProcessingJob request running ``entry_point`` from the code input."""
    instance, concrete = instance_type(ctx, step, instance_key)
    app: dict[str, JsonValue] = {
        "ImageUri": framework_image(ctx, step, "training", concrete, fixed_versions),
        "ContainerEntrypoint": ["python3", f"{CODE_PATH}/{entry_point}"],
    }
    if arguments:
        app["ContainerArguments"] = list(arguments)
    request: dict[str, JsonValue] = {
        "AppSpecification": app,
        "ProcessingInputs": [*inputs, processing_input("code", code_uri, CODE_PATH)],
        "ProcessingResources": {"ClusterConfig": resources(instance, count, volume)},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        "RoleArn": ctx.role(step),
    }
    if outputs:
        request["ProcessingOutputConfig"] = {
            "Outputs": [
                {
                    "OutputName": name,
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": destination or ctx.execution_uri(step.name, "output", name),
                        "LocalPath": local_path,
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for name, local_path, destination in outputs
            ]
        }
    if environment:
        request["Environment"] = dict(sorted(environment.items()))
    if step.config.get("tags"):
        request["Tags"] = tags(step)
    return CompiledStep(
        step.name, "Processing", "CreateProcessingJob", request, step.name, True, True
    )


def processing_input(name: str, uri: JsonValue, local_path: str) -> JsonValue:
    """One S3 input downloaded to ``local_path`` before the script starts."""
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _script(name: str) -> BundleFile:
    source = package_files.files("sagepipe.sagemaker.container").joinpath(name)
    return BundleFile(arcname=name, data=source.read_bytes())


def _settings(name: str, settings: dict[str, object]) -> BundleFile:
    return BundleFile(
        arcname=name, data=(json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
    )


def _literal(step: Step, key: str) -> object:
    value = step.config.get(key)
    if is_expression(value):
        raise CompileError(
            f"step {step.name!r}: config field {key!r} is a pipeline parameter, but "
            f"sagepipe's {step.step_type} script reads it from a file written at compile "
            "time; give a literal value"
        )
    if isinstance(value, dict) and any(is_expression(v) for v in value.values()):
        raise CompileError(
            f"step {step.name!r}: config field {key!r} holds a pipeline parameter; give "
            "literal values"
        )
    return value
