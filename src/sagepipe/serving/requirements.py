"""``code/requirements.txt``: installed once into a cached virtual environment.

The environment sees every package of the running interpreter (a ``.pth`` file adds its
site directories), so pip installs only what is missing and never a second torch. It is
keyed by the requirements' content and the interpreter, built under a lock and reused.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from sagepipe.serving.errors import ServingError

log = logging.getLogger("sagepipe.serving")


def _cache_root() -> Path:
    from sagepipe.storage import sagepipe_home

    return sagepipe_home() / "cache" / "venvs"


def requirements_python(requirements: Path, cache_root: Path | None = None) -> str:
    """The interpreter of a venv with this interpreter's packages plus ``requirements``.

    Raises:
        ServingError: pip failed (its output is in the message).
    """
    digest = hashlib.sha256(
        requirements.read_bytes() + sys.prefix.encode() + sys.version.encode()
    ).hexdigest()[:16]
    root = (cache_root or _cache_root()) / f"requirements-{digest}"
    python = root / "bin" / "python"
    if (root / ".complete").is_file():
        return str(python)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".complete").is_file():
            _build(root, requirements)
    return str(python)


def _build(root: Path, requirements: Path) -> None:
    log.info("installing %s into %s", requirements, root)
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = root / "lib" / version / "site-packages"
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    # addsitedir (not a bare path) so the parent's own .pth files, e.g. editable installs,
    # are processed too.
    (site_packages / "_sagepipe_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(root / "bin" / "python"),
            "install",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        cwd=requirements.parent,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        output = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise ServingError(f"pip could not install {requirements}:\n" + "\n".join(output))
    (root / ".complete").write_text("ok\n")
