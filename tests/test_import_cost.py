"""`import sagepipe`, `sagepipe --help` and loading a pipeline stay light: no torch, AWS SDK,
numpy or server stack is imported (each is checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "boto3", "botocore", "numpy", "starlette", "uvicorn", "httpx")
TINY = Path(__file__).parent / "resources" / "pipelines" / "tiny.yaml"

PROGRAMS = {
    "import sagepipe": "import sagepipe",
    "sagepipe --help": "from sagepipe.cli.main import build_parser; build_parser().format_help()",
    "load a pipeline": (
        f"from sagepipe.definitions import load_pipeline; load_pipeline({str(TINY)!r}).to_json()"
    ),
}


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_no_heavy_imports(program: str) -> None:
    code = f"import json, sys\n{PROGRAMS[program]}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    modules = json.loads(result.stdout.splitlines()[-1])
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"{program} imported {heavy[:10]}"


def test_help_runs_through_the_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sagepipe", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m.split(".")[0] in HEAVY}
