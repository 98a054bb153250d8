"""Helpers the local API calls share inside a step process: downloads, the script's
environment, running it under a time limit, failure reasons, ARNs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from sagepipe.local.errors import StepFailure
from sagepipe.local.sandbox import OPT_ML_ENV
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError

LOCAL_ACCOUNT = "000000000000"
"""The account id in the ARNs of local jobs, models and packages (no AWS account is used)."""

_FAILURE_TAIL_LINES = 12


class ScriptTimeout(Exception):
    """A script ran past its time limit and was killed (raised by :func:`run_script`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"ran longer than {seconds:.0f} s")


def job_arn(region: str, kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<local account>:<kind>/<name in lower case>``, as
    SageMaker writes a job's ARN."""
    return f"arn:aws:sagemaker:{region}:{LOCAL_ACCOUNT}:{kind}/{name.lower()}"


def materialise(storage: Storage, uri: str, dest: Path, what: str) -> list[Path]:
    """Download one object (to ``dest/<basename>``) or every object under a prefix (keeping
    the layout below it) into ``dest``; a missing source fails the step naming ``uri``."""
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


def download_code(storage: Storage, uri: str, dest: Path, what: str) -> Path:
    """Download code from ``uri`` into ``dest``; a single ``.tar.gz`` object
    (``sourcedir.tar.gz``) is unpacked there, never outside it. Returns ``dest``."""
    from sagepipe.artifacts.safety import safe_extract

    files = materialise(storage, uri, dest, what)
    if len(files) == 1 and files[0].name.endswith((".tar.gz", ".tgz")):
        safe_extract(files[0], dest)
        files[0].unlink()
    return dest


def script_environment(extra: Mapping[str, str], opt_ml: Path) -> dict[str, str]:
    """The environment of a user script: ours, the job's ``Environment``, ``SAGEPIPE_OPT_ML``
    (where ``/opt/ml`` is on this machine, for scripts that must work in rewrite mode)."""
    env = dict(os.environ)
    env.update(extra)
    env[OPT_ML_ENV] = str(opt_ml)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_script(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    grace: float = 0.0,
) -> tuple[int, float]:
    """Run a script with its output going to the step log (our stdout/stderr).

    Args:
        command: The command line.
        cwd: Where it runs.
        env: Its environment.
        timeout: Seconds it may run.
        grace: After ``timeout``, seconds between SIGTERM and SIGKILL (SageMaker gives a
            stopped job 120 s to save its work); 0 kills at once.

    Returns:
        The exit code (negative for a signal, as :mod:`subprocess`) and the seconds it ran.

    Raises:
        ScriptTimeout: it ran longer than ``timeout`` seconds and was stopped.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    process = subprocess.Popen(list(command), cwd=cwd, env=dict(env))
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process, grace)
        raise ScriptTimeout(timeout or 0.0) from None
    finally:
        if process.poll() is None:
            # We are being stopped: the script goes with us.
            process.kill()
            process.wait()
    return code, time.monotonic() - started


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if grace > 0:
        process.terminate()
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass  # it did not end in time: killed below
    process.kill()
    process.wait()


def log_tail(log: Path, start: int, lines: int = _FAILURE_TAIL_LINES) -> str:
    """The last lines the log got after byte ``start`` (a traceback's tail, typically)."""
    if not log.is_file():
        return ""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", errors="replace")
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)


def log_size(log: Path) -> int:
    """The log's size now: where the tail of what comes next starts."""
    return log.stat().st_size if log.is_file() else 0


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
