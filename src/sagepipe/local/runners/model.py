"""The PyTorch model runner: SageMaker's ``CreateModel``, offline.

The step's config becomes a CreateModel request (its code, from a local directory or from
S3, repacked into the model archive under ``code/`` first, as the SageMaker SDK does), which
:class:`~sagepipe.local.calls.model.CreateModel` runs: the archive check, the model record in
the run store and the ``DescribeModel`` properties live there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import find_archive, local_archive, scratch
from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome, call_context
from sagepipe.local.runners.common import required_input

if TYPE_CHECKING:
    from sagepipe.pipeline import Step

STEP_TYPE = "PyTorchModelStep"
MODEL_INPUT = "model_data"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"


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
        """The config as a CreateModel request, run by :class:`CreateModel`."""
        from sagepipe.local.calls.model import CreateModel

        request, config = context.request, context.request.config
        what = f"model step {request.step_name!r}"
        source = required_input(request.inputs, MODEL_INPUT, what)
        uri = find_archive(context.storage, source, "model.tar.gz", what)
        warnings: list[str] = []
        if request.code is not None:
            archive = local_archive(context.storage, uri, scratch(context.layout.step_dir), what)
            uri, warnings = _repack_with_code(context, archive, request.code)
        environment = {
            str(k): str(v) for k, v in (config.get("container_environment") or {}).items()
        }
        create_model = {
            "ModelName": request.job_name,
            "PrimaryContainer": {
                "Image": inference_image(config, str(config.get("inference_instance_type"))),
                "ModelDataUrl": uri,
                "Environment": environment,
            },
        }
        outcome = CreateModel().run(call_context(context, "Model", create_model))
        outcome.warnings[:0] = warnings
        return outcome


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


def _repack_with_code(
    context: StepContext, archive: Path, code: dict[str, Any]
) -> tuple[str, list[str]]:
    """Put the model's inference code under ``code/`` of a new archive, as the SageMaker SDK
    repacks a ``PyTorchModel`` given ``entry_point``/``source_dir``; returns its URI and the
    warnings (junk the repack dropped)."""
    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.artifacts.package import package_model
    from sagepipe.local.runners.common import copy_code

    output_dir = context.layout.step_dir / "model"
    source = Path(code["source_dir"])
    if str(code["source_dir"]).startswith("s3://"):
        # Code on S3 (a sourcedir.tar.gz or a prefix) is fetched and repacked the same way.
        source = copy_code(context.request, context.storage, context.layout.step_dir / "code")
    try:
        report = package_model(
            archive,
            source,
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
    warnings = []
    if report.dropped_junk:
        warnings.append(
            "the model archive holds junk that SageMaker ignores (dropped when the code was "
            f"added): {', '.join(report.dropped_junk)}"
        )
    return f"{prefix}/model.tar.gz", warnings
