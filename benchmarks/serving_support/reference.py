"""The official stack: sagemaker-pytorch-inference 2.0.25 on TorchServe 0.12, without Docker.

It is installed once into its own virtualenv under the cache directory. The venv sees this
interpreter's packages through a ``.pth`` file, so pip finds torch already installed and
never pulls another one. It is started through the toolkit's own entry point (``serve``,
i.e. ``sagemaker_pytorch_serving_container.serving:main``) with the container's
environment: ``SAGEMAKER_BASE_DIR`` points at a directory holding ``model/``. As in the
container, the toolkit writes ``/etc/sagemaker-ts.properties``.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

PACKAGES = (
    "sagemaker-pytorch-inference==2.0.25",
    "torchserve>=0.12,<0.13",
    "torch-model-archiver>=0.12,<0.13",
)
TS_MARKER = "org.pytorch.serve.ModelServer"


class ReferenceUnavailable(Exception):
    """The reference cannot be installed or started here; the message says why."""


def ensure_installed(cache: Path) -> Path:
    """The reference venv's directory, installing it on first use."""
    java = shutil.which("java")
    if java is None:
        raise ReferenceUnavailable("TorchServe needs Java 11+ and `java` is not on PATH")
    venv = cache / "reference-venv"
    marker = venv / ".installed"
    if marker.is_file() and marker.read_text() == "\n".join(PACKAGES):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (venv / "lib" / version / "site-packages" / "_sagepipe_bench_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages())
    )
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            *PACKAGES,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
        raise ReferenceUnavailable(f"pip could not install {' '.join(PACKAGES)}:\n{tail}")
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import torch, ts, sagemaker_pytorch_serving_container",
        ],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise ReferenceUnavailable(f"the reference venv is broken: {check.stderr.strip()[-500:]}")
    marker.write_text("\n".join(PACKAGES))
    return venv


def start(
    venv: Path, model_file: Path, work: Path, port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """Start the toolkit's ``serve`` for ``model_file`` (TorchScript) on ``port``."""
    if shutil.which("torchserve", path=str(venv / "bin")) is None:
        raise ReferenceUnavailable(f"{venv}/bin/torchserve is missing")
    model_dir = work / "ml" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_file, model_dir / "model.pt")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAGEMAKER_BASE_DIR": str(work / "ml"),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
    }
    with log.open("wb") as handle:
        return subprocess.Popen(
            [str(venv / "bin" / "serve")],
            cwd=work,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
