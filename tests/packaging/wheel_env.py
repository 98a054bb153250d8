"""Build sagepipe's wheel as a user would and install it into virtual environments of its own,
cached between runs.

A virtual environment is keyed by what determines its contents: the wheel's runtime
requirements, the Python version and platform, and the torch it holds (the exact version of the
interpreter running the tests, installed first, so pip can never pick another build). A cached
one only gets the freshly built sagepipe wheel reinstalled (``--no-deps``). Everything else
comes from the package registries through pip's cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Bump when the recipe below changes in a way the key does not see.
RECIPE = 1
# What a user's `pip wheel .` reads: the project file, the README (project.readme), the sources.
BUILD_INPUTS = ("pyproject.toml", "README.md", "src")
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Wheel:
    path: Path
    version: str
    requirements: tuple[str, ...]  # Requires-Dist without the extras' ones
    build_log: str


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def site_packages(self) -> Path:
        out = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=clean_env(self),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return Path(out.stdout.strip())


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagepipe-tests"


def clean_env(venv: Venv | None = None) -> dict[str, str]:
    """The environment of a user's shell: nothing of the test run's Python set-up (above all
    no PYTHONPATH pointing at the sources) and no sagepipe settings; ``venv`` first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "SAGEPIPE_", "VIRTUAL_ENV", "AWS_", "PIP_REQUIRE"))
    }
    if venv is not None:
        env["PATH"] = f"{venv.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv.root)
    return env


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
        env=clean_env(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def build_wheel(workdir: Path) -> Wheel:
    """``pip wheel --no-deps`` on a copy of the build inputs (so no build/ or egg-info lands in
    the checkout), verbose so that the build backend's warnings are in the log."""
    source = workdir / "source"
    for name in BUILD_INPUTS:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(
                origin,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
            )
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    dist = workdir / "dist"
    # PYTHONDONTWRITEBYTECODE makes setuptools print "byte-compiling is disabled" warnings of its
    # own; a user's shell does not set it. No build isolation: the running environment's
    # setuptools (the dev extra pins what the build system requires) builds offline.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
        env=clean_env(),
        cwd=workdir,
    )
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{log}")
    (path,) = dist.glob("sagepipe-*.whl")
    with zipfile.ZipFile(path) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode("utf-8")
    fields = [line.split(":", 1) for line in metadata.splitlines() if ":" in line]
    version = next(value.strip() for key, value in fields if key == "Version")
    requirements = tuple(
        sorted(
            value.strip()
            for key, value in fields
            if key == "Requires-Dist" and "extra ==" not in value
        )
    )
    return Wheel(path, version, requirements, log)


def torch_requirement() -> str:
    """``torch==<the exact version this interpreter has>``, local label included (``+cpu``),
    so that pip can only install that very build."""
    return f"torch=={importlib.metadata.version('torch')}"


def venv_key(wheel: Wheel, with_torch: bool) -> str:
    inputs = {
        "recipe": RECIPE,
        "python": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "requirements": wheel.requirements,
        "torch": torch_requirement() if with_torch else None,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def installed_venv(wheel: Wheel, *, with_torch: bool) -> Iterator[Venv]:
    """A virtual environment with ``wheel`` installed (and torch, when asked), held under an
    exclusive lock while in use: a concurrent test run waits rather than reinstall sagepipe
    under it."""
    kind = "wheel-venv" if with_torch else "wheel-venv-no-torch"
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    key = venv_key(wheel, with_torch)
    venv = Venv(root / f"{kind}-{key}")
    with (root / f"{kind}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _prepare(venv, wheel, with_torch)
            for stale in root.glob(f"{kind}-*"):
                # Older keys (changed requirements): one venv per kind is kept. A key is all
                # hex digits, so "wheel-venv-" never matches "wheel-venv-no-torch-<key>".
                if stale != venv.root and stale.name.removeprefix(f"{kind}-").isalnum():
                    shutil.rmtree(stale, ignore_errors=True)
            yield venv
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prepare(venv: Venv, wheel: Wheel, with_torch: bool) -> None:
    complete = venv.root / ".sagepipe-complete"
    if complete.exists():
        _pip(venv.python, "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel.path))
        return
    shutil.rmtree(venv.root, ignore_errors=True)  # a half-made one from an interrupted run
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv.root)], check=True, timeout=300, env=clean_env()
    )
    constraints = venv.root / "constraints.txt"
    if with_torch:
        # torch first and alone, as the Makefile does; then pinned for every later install.
        _pip(venv.python, "install", "--quiet", "--only-binary", "torch", torch_requirement())
        constraints.write_text(torch_requirement() + "\n")
    else:
        constraints.write_text("")
    _pip(venv.python, "install", "--quiet", "-c", str(constraints), str(wheel.path))
    complete.write_text(venv_key(wheel, with_torch) + "\n")
