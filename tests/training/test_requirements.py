"""requirements.txt in a cached virtualenv: offline install, reuse, failure, opt-out."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import RunJob, WriteSource

USES_PACKAGE = """
import os
import pydantic  # from the interpreter's own environment, seen through the venv
import sagepipe_tinypkg
with open(os.path.join(os.environ["SM_MODEL_DIR"], "out.txt"), "w") as f:
    f.write(sagepipe_tinypkg.VALUE)
"""


def _build_wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel, built by hand so no build backend or network is needed."""
    name, version = "sagepipe_tinypkg", "1.0"
    files = {
        f"{name}/__init__.py": b'VALUE = "from the wheel"\n',
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record = f"{name}-{version}.dist-info/RECORD"
    record_lines.append(f"{record},,")
    files[record] = ("\n".join(record_lines) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


@pytest.mark.slow
def test_requirements_install_offline_and_are_reused(
    tmp_path: Path, write_source: WriteSource, run_job: RunJob, sagepipe_home_dir: Path
) -> None:
    wheel = _build_wheel(tmp_path / "wheels")
    source = write_source({"train.py": USES_PACKAGE, "requirements.txt": f"--no-index\n{wheel}\n"})
    result, lines = run_job(source)
    assert result.exit_code == 0, result.failure_reason
    assert (result.model_dir / "out.txt").read_text() == "from the wheel"
    assert any("requirements: installing" in line for line in lines)
    venvs = [p for p in (sagepipe_home_dir / "venvs").iterdir() if p.is_dir()]
    assert len(venvs) == 1 and len(venvs[0].name) == 64

    again, lines = run_job(source)
    assert again.exit_code == 0, again.failure_reason
    assert any("requirements: reusing" in line for line in lines)

    # The user's own environment never saw the package.
    probe = subprocess.run(
        [sys.executable, "-c", "import sagepipe_tinypkg"], capture_output=True, text=True
    )
    assert probe.returncode != 0


@pytest.mark.slow
def test_failed_install_fails_the_job_with_pips_reason(
    write_source: WriteSource,
    run_job: RunJob,
    sagepipe_home_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    source = write_source(
        {
            "train.py": "print('never runs')\n",
            "requirements.txt": "--index-url http://127.0.0.1:9/simple\nsagepipe-no-such-pkg==1.0\n",
        }
    )
    result, lines = run_job(source)
    assert result.exit_code != 0
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("pip could not install")
    assert "sagepipe-no-such-pkg" in result.failure_reason
    assert "never runs" not in lines
    # A failed environment is not cached: the next run tries again.
    assert not [p for p in (sagepipe_home_dir / "venvs").iterdir() if p.is_dir()]


def test_install_requirements_false_skips_them(
    write_source: WriteSource, run_job: RunJob, sagepipe_home_dir: Path
) -> None:
    source = write_source(
        {
            "train.py": "print('ran')\n",
            "requirements.txt": "--index-url http://127.0.0.1:9/simple\nsagepipe-no-such-pkg\n",
        }
    )
    result, lines = run_job(source, install_requirements=False)
    assert result.exit_code == 0, result.failure_reason
    assert lines == ["ran"]
    assert not (sagepipe_home_dir / "venvs").exists()
