"""A module that a command needs and the environment lacks (torch, the aws extra's boto3) is a
one-line error naming what to install, through the real entry point.

Each command runs in a fresh interpreter where the module cannot be imported (``None`` in
``sys.modules`` makes ``import`` raise ModuleNotFoundError, as for a module never installed);
tests/packaging does the same in real environments without them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.dependencies import INSTALL_HINTS, missing_dependency
from sagepipe.errors import MissingDependencyError

EXECUTION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"


def sagepipe_without(
    module: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from sagepipe.cli.main import main\n"
        "raise SystemExit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_an_aws_command_without_boto3_names_the_extra() -> None:
    result = sagepipe_without("boto3", "describe", EXECUTION_ARN)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "sagepipe: error: boto3 is not installed (real S3 and SageMaker calls need it); "
        "install sagepipe's aws extra: pip install 'sagepipe[aws]'"
    ]


def test_debug_shows_the_traceback() -> None:
    result = sagepipe_without("boto3", "--debug", "describe", EXECUTION_ARN)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ModuleNotFoundError" in result.stderr


@pytest.mark.parametrize("command", [["demo"], ["serve", "model", "--port", "0"]])
def test_commands_that_run_torch_in_child_processes_check_for_it_first(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "model").mkdir()
    result = sagepipe_without("torch", *command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("sagepipe: error: torch is not installed")
    assert "pip install torch" in line and "CPU or CUDA" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing started


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("torch._C", "torch"),
        ("boto3", "boto3"),
        ("botocore.loaders", "botocore"),
        ("numpy", "numpy"),
    ],
)
def test_known_modules_become_errors_with_their_hint(name: str, expected: str) -> None:
    error = missing_dependency(ModuleNotFoundError(f"No module named {name!r}", name=name))
    assert isinstance(error, MissingDependencyError)
    assert str(error) == f"{expected} {INSTALL_HINTS[expected]}"


@pytest.mark.parametrize("name", ["pandas", "torchvision", None])
def test_other_missing_modules_are_left_to_raise(name: str | None) -> None:
    # The user's own imports, or a bug: the traceback is what helps there.
    assert missing_dependency(ModuleNotFoundError("No module", name=name)) is None
