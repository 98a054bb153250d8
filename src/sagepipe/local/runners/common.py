"""Helpers shared by runners inside a step process: inputs, code, scripts, failure reasons."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sagepipe.local.errors import StepFailure
from sagepipe.local.protocol import StepRequest
from sagepipe.local.sandbox import OPT_ML_ENV
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError, is_s3

_FAILURE_TAIL_LINES = 12
_IGNORED_CODE = shutil.ignore_patterns("__pycache__", "*.pyc", ".git")


def materialise(storage: Storage, uri: str, dest: Path, what: str) -> list[Path]:
    """Download one object or a prefix into ``dest``; a missing source fails the step."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return storage.get_prefix(uri, dest)
    except ObjectNotFoundError:
        raise StepFailure(
            f"{what} reads {uri}, where there is no object and no objects under that prefix; "
            "check that the step producing it wrote files there"
        ) from None
    except StorageError as exc:
        raise StepFailure(f"{what} reads {uri}, which cannot be downloaded: {exc}") from None


def copy_code(request: StepRequest, storage: Storage, dest: Path) -> Path:
    """Copy the step's source dir (and dependency dirs) into ``dest``; returns ``dest``.

    An ``s3://`` source dir is downloaded; a ``.tar.gz`` one (``sourcedir.tar.gz``) unpacked.
    """
    if request.code is None:
        raise StepFailure(f"step {request.step_name!r} has no code to run")
    if is_s3(request.code["source_dir"]):
        return _download_code(storage, request.code["source_dir"], dest)
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


def _download_code(storage: Storage, uri: str, dest: Path) -> Path:
    from sagepipe.artifacts.safety import safe_extract

    files = materialise(storage, uri, dest, "source_dir")
    if len(files) == 1 and files[0].name.endswith((".tar.gz", ".tgz")):
        safe_extract(files[0], dest)
        files[0].unlink()
    return dest


def script_environment(extra: Mapping[str, str], opt_ml: Path) -> dict[str, str]:
    """The environment of a user script: ours, the step's ``env``, ``SAGEPIPE_OPT_ML``."""
    env = dict(os.environ)
    env.update(extra)
    env[OPT_ML_ENV] = str(opt_ml)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_script(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float | None
) -> tuple[int, float]:
    """Run a script with its output going to the step log (our stdout/stderr).

    Returns:
        The exit code (negative for a signal, as :mod:`subprocess`) and the seconds it ran.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    process = subprocess.Popen(list(command), cwd=cwd, env=dict(env))
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise StepFailure(
            f"the script ran longer than max_runtime_seconds={timeout:.0f} and was stopped"
        ) from None
    finally:
        if process.poll() is None:
            # We are being stopped: the script goes with us.
            process.kill()
            process.wait()
    return code, time.monotonic() - started


def log_tail(log: Path, start: int, lines: int = _FAILURE_TAIL_LINES) -> str:
    """The last lines the log got after byte ``start`` (a traceback's tail, typically)."""
    if not log.is_file():
        return ""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", errors="replace")
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)


def exit_reason(what: str, code: int) -> str:
    """``"<what> exited with code 2"`` or ``"<what> was killed by signal 9"``."""
    if code < 0:
        return f"{what} was killed by signal {-code}"
    return f"{what} exited with code {code}"


def failure_with_tail(reason: str, tail: str, log: Path) -> str:
    """``"<reason>: <last line> (log: <log>)"`` followed by the tail, so one line says what
    went wrong and where to read more."""
    lines = tail.splitlines()
    if not lines:
        return f"{reason} (log: {log})"
    return f"{reason}: {_meaningful(lines)} (log: {log})\n{tail}"


def with_log(reason: str, log: Path) -> str:
    """``reason`` with ``(log: <log>)`` at the end of its first line."""
    first, newline, rest = reason.partition("\n")
    return f"{first} (log: {log}){newline}{rest}"


def _meaningful(lines: list[str]) -> str:
    """The line that says what went wrong: the last one, unless that is a traceback's header
    (its exception line never made it to the log, e.g. because the disk was full)."""
    for line in reversed(lines):
        if not line.startswith(("Traceback (most recent call last):", "sagepipe: ")):
            return line
    return lines[-1]


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
