"""What in a CreateProcessingJob request the local processing job cannot run.

Checked twice: before anything runs, on the step's unevaluated ``Arguments`` (a value that
is still an expression is passed over), and in the step process on the evaluated request.
Required members and enum values are read from SageMaker's API model (botocore); the rest
is what has no local meaning (see :mod:`.processing` and :mod:`.processing_inputs`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sagepipe import service_model
from sagepipe.local.calls.images import unsupported_image
from sagepipe.local.calls.processing_inputs import (
    PROCESSING_ROOT,
    input_problems,
    local_path_problem,
)

_PYTHON = re.compile(r"^(?:/[\w./-]*/)?python(?:3(?:\.\d+)?)?$")


def request_problems(request: Mapping[str, Any], api_model: bool = True) -> list[str]:
    """What in a (possibly unevaluated) CreateProcessingJob request cannot run here; each
    problem names its field.

    Args:
        request: The request.
        api_model: Also check required members and enum values against SageMaker's API
            model (loading it takes about half a second).
    """
    problems: list[str] = []
    app = request.get("AppSpecification")
    if not isinstance(app, dict):
        return ["the request has no AppSpecification"]
    image = unsupported_image("AppSpecification.ImageUri", app.get("ImageUri"))
    if image is not None:
        problems.append(image)
    problems.extend(_entrypoint_problems(app))
    input_names: set[str] = set()
    for position, item in enumerate(request.get("ProcessingInputs") or []):
        where = f"ProcessingInputs[{position}]"
        problems.extend(input_problems(where, item))
        if api_model and isinstance(item.get("S3Input"), dict):
            s3 = item["S3Input"]
            problems.extend(_member_problems(f"{where}.S3Input", s3, "ProcessingS3Input"))
        problems.extend(_duplicate(where, "InputName", item.get("InputName"), input_names))
    output_names: set[str] = set()
    for position, item in enumerate(outputs_of(request)):
        where = f"ProcessingOutputConfig.Outputs[{position}]"
        problems.extend(_output_problems(where, item, api_model))
        problems.extend(_duplicate(where, "OutputName", item.get("OutputName"), output_names))
    count = request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount")
    if isinstance(count, int) and count < 1:
        problems.append(
            f"ProcessingResources.ClusterConfig.InstanceCount is {count}; it must be >= 1"
        )
    return problems


def _entrypoint_problems(app: dict[str, Any]) -> list[str]:
    entry = app.get("ContainerEntrypoint")
    field = "AppSpecification.ContainerEntrypoint"
    if entry is None:
        return [
            f"{field} is missing: the image's own entrypoint has no local stand-in; give "
            'one such as ["python3", "/opt/ml/processing/input/code/script.py"]'
        ]
    if not isinstance(entry, list) or not entry or not isinstance(entry[0], str):
        return []
    if is_shell(entry[0]):
        script: object = entry[1] if len(entry) == 2 else None
        if isinstance(script, str) and not script.endswith(".sh"):
            script = None
    elif _PYTHON.match(entry[0]):
        script = entrypoint_script(entry, app.get("ContainerArguments") or [])
    else:
        script = None
    if script is None:
        return [
            f"{field} runs {entry!r}; the local engine runs Python scripts "
            '(["python3", "/opt/ml/processing/input/code/script.py"]) and the SageMaker '
            'SDK\'s runproc.sh (["/bin/bash", ".../runproc.sh"])'
        ]
    if isinstance(script, str) and not script.startswith(PROCESSING_ROOT + "/"):
        return [
            f"{field} runs {script!r}, which is not under {PROCESSING_ROOT}/: a script "
            "inside the image has no local stand-in; give it as a ProcessingInput"
        ]
    return []


def is_shell(program: str) -> bool:
    """Whether an entrypoint's program is a shell (``/bin/bash``: the SDK's runproc.sh)."""
    return program.rsplit("/", 1)[-1] in ("bash", "sh")


def entrypoint_script(entry: list[Any], arguments: list[Any]) -> object:
    """The script a Python entrypoint runs: its first argument that is not an option."""
    for part in [*entry[1:], *arguments]:
        if not (isinstance(part, str) and part.startswith("-")):
            return part
    return None


def _output_problems(where: str, item: dict[str, Any], api_model: bool) -> list[str]:
    if "FeatureStoreOutput" in item:
        return [f"{where} is a FeatureStoreOutput, which the local engine cannot write"]
    s3 = item.get("S3Output")
    if not isinstance(s3, dict):
        return [f"{where} has no S3Output"]
    problems = _member_problems(f"{where}.S3Output", s3, "ProcessingS3Output") if api_model else []
    local = s3.get("LocalPath")
    found = local_path_problem(f"{where}.S3Output", local)
    if local is None:
        problems.append(f"{where}.S3Output has no LocalPath: the local engine uploads that path")
    elif found:
        problems.append(found)
    return problems


def _member_problems(where: str, members: dict[str, Any], shape_name: str) -> list[str]:
    """Members SageMaker's API model requires that are missing, and enum members whose value
    it does not allow."""
    spec = service_model.shape(shape_name)
    problems = [f"{where} has no {name}" for name in spec["required"] if name not in members]
    for member, value in members.items():
        shape = spec["members"].get(member, {}).get("shape")
        allowed = service_model.shape(shape).get("enum") if shape else None
        if allowed and isinstance(value, str) and value not in allowed:
            problems.append(
                f"{where}.{member} is {value!r}; it must be one of {', '.join(allowed)}"
            )
    return problems


def _duplicate(where: str, member: str, name: object, seen: set[str]) -> list[str]:
    if not isinstance(name, str):
        return []
    if name in seen:
        return [f"{where}.{member} {name!r} is used twice; each {member} must be unique"]
    seen.add(name)
    return []


def outputs_of(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    config = request.get("ProcessingOutputConfig") or {}
    outputs: list[dict[str, Any]] = config.get("Outputs") or []
    return outputs
