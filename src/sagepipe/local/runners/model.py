"""The PyTorch model runner: SageMaker's ``CreateModel``, offline.

The model archive is checked as SageMaker's PyTorch inference container will read it (model
files at the top level, inference code under ``code/``): the classic extra-top-directory
archive fails the step with the command that rebuilds it; macOS junk is ignored with a
warning. The model (name, image, model data, container environment) is stored in the run
store, where batch transform and endpoint steps find it by name, and recorded as the step's
``ModelName`` and ``PrimaryContainer`` properties.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.records import ModelRecord
from sagepipe.local.runners.archives import find_archive, local_archive, required_input
from sagepipe.local.runners.base import StepContext, StepOutcome

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "PyTorchModelStep"
MODEL_INPUT = "model_data"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
LOCAL_ACCOUNT = "000000000000"


class ModelRunner:
    """Runs a ``PyTorchModelStep``."""

    def check(self, step: Step) -> None:
        from sagepipe.errors import PipelineDefinitionError

        if MODEL_INPUT not in step.inputs:
            raise PipelineDefinitionError(
                f"step {step.name!r} ({STEP_TYPE}) has no {MODEL_INPUT!r} input; give it the "
                "model archive (model_data=...) or a training step to take it from"
            )

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.artifacts.errors import ArtifactError
        from sagepipe.artifacts.layout import validate_model_archive

        request, config = context.request, context.request.config
        what = f"model step {request.step_name!r}"
        source = required_input(request.inputs, MODEL_INPUT, what)
        uri = find_archive(context.storage, source, "model.tar.gz", what)
        archive = local_archive(context.storage, uri, scratch(context), what)
        try:
            report = validate_model_archive(archive)
        except ArtifactError as exc:
            raise StepFailure(f"the model data {uri} is not a valid model archive: {exc}") from None
        for line in report.summary().splitlines():
            context.log(f"sagepipe: {line}")
        warnings = []
        if report.ignored:
            warnings.append(
                f"the model archive holds junk that SageMaker ignores: {', '.join(report.ignored)}"
            )
        if request.code is not None and not str(request.code["source_dir"]).startswith("s3://"):
            uri = _repack_with_code(context, archive, request.code)
        region = str(config.get("region") or "us-east-1")
        image = inference_image(config, str(config.get("inference_instance_type")))
        environment = {
            str(k): str(v) for k, v in (config.get("container_environment") or {}).items()
        }
        name = request.job_name
        _store_model(
            context,
            ModelRecord(
                name=name,
                execution_id=request.execution_id,
                step_name=request.step_name,
                image=image,
                model_data_url=uri,
                environment=environment,
                region=region,
                created_at=time.time(),
            ),
        )
        context.log(f"sagepipe: model {name}: {image} serving {uri}")
        properties = {
            "ModelName": name,
            "ModelArn": f"arn:aws:sagemaker:{region}:{LOCAL_ACCOUNT}:model/{name.lower()}",
            "PrimaryContainer": {
                "Image": image,
                "ModelDataUrl": uri,
                "Environment": environment,
            },
        }
        return StepOutcome(properties=properties, warnings=warnings)


def inference_image(config: dict[str, Any], instance_type: str | None) -> str:
    """The config's ``image_uri``, else the PyTorch inference image SageMaker would run for
    its region, framework and Python versions and instance type.

    Raises:
        StepFailure: the image table has no such image (the compiler would refuse it too).
    """
    from sagepipe.images import ImageNotFoundError, image_uri

    override = config.get("image_uri")
    if override:
        return str(override)
    framework_version, py_version = config.get("framework_version"), config.get("py_version")
    if not framework_version or not py_version:
        raise StepFailure(
            "framework_version and py_version are needed to choose the PyTorch inference "
            "image (e.g. 2.1.0 and py310); set them in the shared config, or set image_uri"
        )
    try:
        return image_uri(
            "inference",
            str(config.get("region") or "us-east-1"),
            str(framework_version),
            str(py_version),
            instance_type or DEFAULT_INSTANCE_TYPE,
        )
    except ImageNotFoundError as exc:
        raise StepFailure(str(exc)) from None


def _repack_with_code(context: StepContext, archive: Path, code: dict[str, Any]) -> str:
    """Put the model's inference code under ``code/`` of a new archive, as the SageMaker SDK
    repacks a ``PyTorchModel`` given ``entry_point``/``source_dir``; returns its URI."""
    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.artifacts.package import package_model

    output_dir = context.layout.step_dir / "model"
    try:
        report = package_model(
            archive,
            Path(code["source_dir"]),
            str(code["entry_point"]),
            [Path(d) for d in code.get("dependencies") or []],
            output_dir / "model.tar.gz",
        )
    except ArtifactError as exc:
        raise StepFailure(f"adding the inference code to the model failed: {exc}") from None
    prefix = f"{context.request.output_prefix}/model"
    context.uploader.upload_tree(output_dir, prefix)
    context.log(
        f"sagepipe: repacked the model with code/{code['entry_point']} "
        f"({len(report.layout.code_files)} code file(s)) in {report.seconds:.2f}s"
    )
    return f"{prefix}/model.tar.gz"


def scratch(context: StepContext) -> Path:
    """A directory of the step for downloaded archives."""
    directory = context.layout.step_dir / "archives"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _store_model(context: StepContext, record: ModelRecord) -> None:
    from sagepipe.local.store import RunStore

    store = RunStore.open(Path(context.request.home))
    try:
        store.add_model(record)
    finally:
        store.close()
