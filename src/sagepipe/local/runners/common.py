"""Helpers of the per-config runners inside a step process: the step's code.

The helpers the local API calls share (downloads, scripts, failure reasons) live in
:mod:`sagepipe.local.calls.common`; they are re-exported here for the runners.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sagepipe.local.calls.common import (
    download_code,
    exit_reason,
    failure_with_tail,
    log_tail,
    materialise,
    run_script,
    script_environment,
    with_log,
)
from sagepipe.local.errors import StepFailure
from sagepipe.local.protocol import StepRequest
from sagepipe.storage import Storage, is_s3

_IGNORED_CODE = shutil.ignore_patterns("__pycache__", "*.pyc", ".git")

__all__ = [
    "copy_code",
    "exit_reason",
    "failure_with_tail",
    "log_tail",
    "materialise",
    "run_script",
    "script_environment",
    "with_log",
]


def copy_code(request: StepRequest, storage: Storage, dest: Path) -> Path:
    """Copy the step's source dir (and dependency dirs) into ``dest``; returns ``dest``.

    An ``s3://`` source dir is downloaded; a ``.tar.gz`` one (``sourcedir.tar.gz``) unpacked.
    """
    if request.code is None:
        raise StepFailure(f"step {request.step_name!r} has no code to run")
    if is_s3(request.code["source_dir"]):
        return download_code(storage, request.code["source_dir"], dest, "source_dir")
    source = Path(request.code["source_dir"])
    if not source.is_dir():
        raise StepFailure(
            f"source_dir {source} of step {request.step_name!r} is not a directory; "
            "it may have moved since the pipeline was defined"
        )
    shutil.copytree(source, dest, ignore=_IGNORED_CODE, dirs_exist_ok=True)
    for dependency in request.code.get("dependencies", []):
        path = Path(dependency)
        target = dest / path.name
        if path.is_dir():
            shutil.copytree(path, target, ignore=_IGNORED_CODE, dirs_exist_ok=True)
        elif path.is_file():
            shutil.copy2(path, target)
        else:
            raise StepFailure(f"code dependency {path} of step {request.step_name!r} is missing")
    return dest


def required_input(inputs: dict[str, Any], name: str, what: str) -> str:
    """The URI bound to input ``name``; a missing one, or a relative path, fails the step."""
    value = inputs.get(name)
    if not isinstance(value, str) or not value:
        raise StepFailure(
            f"{what} has no input {name!r} (got {json.dumps(value)}); wire it from a "
            "predecessor's output or give a URI"
        )
    if not is_s3(value) and not value.startswith("file://") and not value.startswith("/"):
        raise StepFailure(
            f"{what} input {name!r} is the relative path {value!r}; give an s3:// URI or an "
            "absolute path (steps run in their own directories)"
        )
    return value


def optional_input(inputs: dict[str, Any], name: str, what: str) -> str | None:
    """Like :func:`required_input`, ``None`` when the input is not wired."""
    if inputs.get(name) is None:
        return None
    return required_input(inputs, name, what)
