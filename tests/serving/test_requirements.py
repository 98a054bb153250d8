"""code/requirements.txt is installed into a cached venv the workers run in (offline: the
requirement is a wheel built here)."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from .support import json_body, running_server, write_code, write_linear

pytestmark = pytest.mark.slow


def build_wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel of ``sagepipe_testdep`` (no build tools, no network)."""
    name, version = "sagepipe_testdep", "1.0"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 'from the requirements venv'\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def test_requirements_are_installed_and_importable(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    code = write_code(
        model,
        """
        import json
        import sagepipe_testdep

        def output_fn(prediction, accept):
            return json.dumps({"dep": sagepipe_testdep.VALUE, "y": prediction.tolist()})
        """,
    ).parent
    wheel = build_wheel(tmp_path)
    (code / "requirements.txt").write_text(f"{wheel}\n")
    env = {"SAGEPIPE_HOME": str(tmp_path / "home"), "PIP_NO_INDEX": "1"}
    with running_server(model, env=env) as server:
        status, _, body = server.invoke(json_body([[1, 1]]), "application/json")
    assert status == 200
    assert json.loads(body) == {"dep": "from the requirements venv", "y": [[3.5]]}
    venvs = list((tmp_path / "home").rglob("pyvenv.cfg"))
    assert len(venvs) == 1, venvs
