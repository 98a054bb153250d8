"""``requirements.txt`` installed into a cached virtualenv, never into the user's environment.

The virtualenv lives under ``<SAGEPIPE_HOME>/venvs/<sha256>``, keyed by the file's content
(and the interpreter it extends). It sees the running interpreter's packages (torch...)
through ``--system-site-packages`` plus a ``.pth`` file naming this interpreter's
site-packages, since ``--system-site-packages`` alone reaches only the *base* Python when we
run inside a virtualenv ourselves. Packages installed into it take precedence.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sagepipe.training.errors import TrainingJobError

_COMPLETE = ".sagepipe-complete"
_TAIL_LINES = 15


class RequirementsError(TrainingJobError):
    """pip could not install the job's requirements.txt; the message holds pip's error tail."""


def venv_key(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(b"\0" + sys.prefix.encode())
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_requirements_venv(requirements: Path, home: Path, log: Callable[[str], None]) -> Path:
    """Return the python of a virtualenv with ``requirements`` installed, building it once.

    Raises:
        RequirementsError: if pip fails; the virtualenv is removed so the next run retries.
    """
    venvs = home / "venvs"
    venvs.mkdir(parents=True, exist_ok=True)
    venv = venvs / venv_key(requirements)
    with (venvs / f"{venv.name}.lock").open("w") as lock:
        # Two jobs with the same requirements build the venv once: the second waits.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / _COMPLETE).exists():
            log(f"requirements: reusing {venv}")
            return venv_python(venv)
        if venv.exists():
            shutil.rmtree(venv)  # left half-built by an interrupted run
        log(f"requirements: installing {requirements.name} into {venv}")
        try:
            _create(venv, log)
            _pip_install(venv, requirements, log)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / _COMPLETE).write_text(requirements.read_text())
    return venv_python(venv)


def _create(venv: Path, log: Callable[[str], None]) -> None:
    command = [sys.executable, "-m", "venv", "--system-site-packages"]
    # Reuse this interpreter's pip through the .pth below instead of copying a new one.
    if importlib.util.find_spec("pip") is not None:
        command.append("--without-pip")
    _run([*command, str(venv)], log, "creating the requirements virtualenv failed")
    parents = [*site.getsitepackages(), site.getusersitepackages()]
    purelib = subprocess.run(
        [str(venv_python(venv)), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    existing = [p for p in parents if Path(p).is_dir()]
    Path(purelib, "_sagepipe_parent_env.pth").write_text("\n".join(existing) + "\n")


def _pip_install(venv: Path, requirements: Path, log: Callable[[str], None]) -> None:
    command = [
        str(venv_python(venv)),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
        str(requirements),
    ]
    _run(command, log, f"pip could not install {requirements}", cwd=requirements.parent)


def _run(
    command: list[str], log: Callable[[str], None], failure: str, cwd: Path | None = None
) -> None:
    env = {**os.environ, "PIP_NO_INPUT": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=env,
        cwd=cwd,
    )
    assert process.stdout is not None  # guaranteed by stdout=PIPE
    lines: list[str] = []
    for raw in process.stdout:
        line = raw.rstrip("\n")
        lines.append(line)
        log(line)
    if process.wait() != 0:
        tail = "\n".join(line for line in lines[-_TAIL_LINES:] if line.strip())
        raise RequirementsError(f"{failure}:\n{tail}")
