"""What SageMaker's PyTorch inference container does with a model, shared by the model, model
package, transform and endpoint calls.

The container (``pytorch-inference`` Deep Learning Containers, served by the SageMaker PyTorch
inference toolkit) imports the user's module from ``/opt/ml/model/code`` only: the toolkit's
``environment.code_dir`` is ``<model_dir>/code`` and nothing in it reads
``SAGEMAKER_SUBMIT_DIRECTORY`` (the SageMaker Python SDK therefore repacks a model's code into
``model.tar.gz`` under ``code/`` for every PyTorch version it serves with the toolkit). The
script is ``SAGEMAKER_PROGRAM``, else ``inference.py``; a script that is missing makes the
toolkit fall back to its default handlers. Locally the model server gets the container's
``Environment`` and the code from the archive's ``code/``, exactly so; a model whose code is
not in its archive fails with how to put it there, rather than serving with handlers the
user did not write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import local_archive, scratch
from sagepipe.local.calls.images import image_problem, local_runtime
from sagepipe.local.errors import StepFailure

if TYPE_CHECKING:
    from sagepipe.artifacts.layout import LayoutReport
    from sagepipe.local.calls.base import CallContext
    from sagepipe.local.records import ModelRecord

CONTAINER_CODE_DIR = "/opt/ml/model/code"
DEFAULT_PROGRAM = "inference.py"
_CODE_DIR_SPELLINGS = (CONTAINER_CODE_DIR, f"file://{CONTAINER_CODE_DIR}")


def inference_image_problem(step_name: str, field: str, image: object) -> str | None:
    """One line saying why ``image`` cannot serve a model here, or ``None`` (also for an
    expression, checked once evaluated)."""
    problem = image_problem(step_name, field, image)
    if problem is not None or not isinstance(image, str):
        return problem
    runtime = local_runtime(image)
    if runtime is not None and runtime.kind not in ("pytorch-inference", "pytorch"):
        return (
            f"step {step_name!r}: {field} {image!r} is a {runtime.kind} image; models are "
            "served locally as on SageMaker's PyTorch inference images (pytorch-inference, "
            "sagemaker-pytorch)"
        )
    return None


@dataclass(frozen=True)
class ModelContainer:
    """A request's container, checked as the inference container would read it.

    Attributes:
        image: Its ``Image``.
        model_data_url: Its ``ModelDataUrl``.
        environment: Its ``Environment``.
        archive: The model archive, downloaded into the step's directory.
        warnings: What SageMaker would ignore (junk members, an unread submit directory).
    """

    image: str
    model_data_url: str
    environment: dict[str, str]
    archive: Path
    warnings: list[str]


def check_container(context: CallContext, container: object, field: str) -> ModelContainer:
    """Check the container ``field`` of the request and fetch its model archive.

    Raises:
        StepFailure: an image with no local runtime, no or an unreadable model archive, an
            archive the container cannot serve (naming the fix), code it would not find.
    """
    from sagepipe.artifacts.errors import ArtifactError
    from sagepipe.artifacts.layout import validate_model_archive

    if not isinstance(container, Mapping):
        raise StepFailure(f"{field} must be an object; got {container!r}")
    problem = inference_image_problem(context.step_name, f"{field}.Image", container.get("Image"))
    if problem is not None:
        raise StepFailure(problem)
    uri = container.get("ModelDataUrl")
    if not isinstance(uri, str) or not uri:
        raise StepFailure(
            f"{field}.ModelDataUrl is {uri!r}; the PyTorch inference container serves a "
            "model.tar.gz: give its s3:// URI"
        )
    environment = string_map(container.get("Environment"), f"{field}.Environment")
    archive = local_archive(context.storage, uri, scratch(context.layout.step_dir), field)
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
    code_warning = check_model_code(report, environment, uri)
    if code_warning is not None:
        warnings.append(code_warning)
    return ModelContainer(str(container["Image"]), uri, environment, archive, warnings)


def string_map(value: object, where: str) -> dict[str, str]:
    """A request's ``Environment`` (or similar) as ``{str: str}``; anything else fails."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise StepFailure(f"{where} must map names to strings; got {value!r}")
    return dict(value)


def check_model_code(report: LayoutReport, environment: Mapping[str, str], uri: str) -> str | None:
    """Check that the container will find the model's code; returns a warning, if any.

    Raises:
        StepFailure: ``SAGEMAKER_PROGRAM`` names a script that is not in the archive's
            ``code/`` (the container would serve with its default handlers instead).
    """
    program = environment.get("SAGEMAKER_PROGRAM")
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if not program:
        return None
    if f"code/{program}" in _code_names(report):
        if submit and submit.rstrip("/") not in _CODE_DIR_SPELLINGS:
            return (
                f"SAGEMAKER_SUBMIT_DIRECTORY {submit} is not read by the PyTorch inference "
                f"container: it runs code/{program} of {uri}"
            )
        return None
    where = f" (SAGEMAKER_SUBMIT_DIRECTORY is {submit})" if submit else ""
    raise StepFailure(
        f"the model data {uri} has no code/{program}{where}; SageMaker's PyTorch inference "
        f"container imports SAGEMAKER_PROGRAM only from {CONTAINER_CODE_DIR} inside the model "
        "archive: repack the code into model.tar.gz under code/ (as the SageMaker SDK's "
        "ModelStep does with its repack step)"
    )


def _code_names(report: LayoutReport) -> set[str]:
    return {name.removeprefix("./") for name in report.code_files}


def served_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """A container ``environment`` as the local model server gets it: the code is taken
    from the archive's ``code/``, as the container takes it."""
    return {k: v for k, v in environment.items() if k != "SAGEMAKER_SUBMIT_DIRECTORY"}


def serving_environment(environment: Mapping[str, str], home: Path) -> dict[str, str]:
    """The whole environment of a model server subprocess for a container ``environment``."""
    import os

    served = {**os.environ, "PYTHONUNBUFFERED": "1", "SAGEPIPE_HOME": str(home)}
    served.pop("SAGEMAKER_SUBMIT_DIRECTORY", None)
    return {**served, **served_environment(environment)}


def find_model(home: Path, name: object, what: str) -> ModelRecord:
    """The model ``name`` created earlier (in this execution or recorded in the run store).

    Raises:
        StepFailure: no such model.
    """
    from sagepipe.local.errors import ModelNotFoundError
    from sagepipe.local.store import RunStore

    if not isinstance(name, str) or not name:
        raise StepFailure(f"{what}: ModelName is {name!r}; name a model created by CreateModel")
    store = RunStore.open(home)
    try:
        return store.model(name)
    except ModelNotFoundError:
        raise StepFailure(
            f"{what}: ModelName {name!r} is no model created in {home}; run the model step "
            "that creates it first"
        ) from None
    finally:
        store.close()


def optional_str(request: Mapping[str, Any], key: str, where: str) -> str | None:
    """``request[key]`` when it is a string, ``None`` when absent; anything else fails."""
    value = request.get(key)
    if value is None or isinstance(value, str):
        return value
    raise StepFailure(f"{where}.{key} must be a string; got {value!r}")
