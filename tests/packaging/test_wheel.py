"""sagepipe as a user gets it: the wheel built by `pip wheel`, installed into a fresh virtual
environment (torch first, the exact build of this interpreter), every command run from an empty
directory with nothing of the checkout on the path.

The environments are cached between runs (tests/packaging/wheel_env.py): the first run
installs torch and the dependencies (a minute or two, from the pip cache and the registries),
later runs only reinstall the freshly built sagepipe wheel.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .wheel_env import Venv, Wheel, build_wheel, clean_env, installed_venv

# Building the environments the first time takes minutes; later runs take seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
AWS_EXTRA_HINT = "pip install 'sagepipe[aws]'"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def venv(wheel: Wheel) -> Iterator[Venv]:
    with installed_venv(wheel, with_torch=True) as installed:
        yield installed


@pytest.fixture(scope="module")
def venv_without_torch(wheel: Wheel) -> Iterator[Venv]:
    with installed_venv(wheel, with_torch=False) as installed:
        yield installed


def sagepipe(
    venv: Venv, cwd: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.bin / "sagepipe"), *args],
        cwd=cwd,
        env=clean_env(venv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def has_module(venv: Venv, name: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    found = subprocess.run(
        [str(venv.python), "-c", code], env=clean_env(venv), timeout=60, check=False
    )
    return found.returncode == 0


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: size and mtime, to see that nothing was written there."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("sagepipe: warn")]
    assert len(lines) == 1 and lines[0].startswith("sagepipe: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def demo(
    venv: Venv, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, tuple[int, int]]]:
    """`sagepipe demo` from an empty directory; the shipped example's files before and after."""
    example = venv.site_packages() / "sagepipe" / "definitions" / "examples" / "tabular"
    before = tree(example)
    cwd = tmp_path_factory.mktemp("demo")
    result = sagepipe(venv, cwd, "demo", timeout=600)
    assert tree(example) == before, "the demo wrote into the installed package"
    return cwd, result, before


def test_the_wheel_builds_without_warnings_and_declares_its_dependencies(wheel: Wheel) -> None:
    warnings = [
        line for line in wheel.build_log.splitlines() if re.search(r"warn|deprecat", line, re.I)
    ]
    assert warnings == [], "\n".join(warnings)
    with zipfile.ZipFile(wheel.path) as archive:
        names = archive.namelist()
        metadata = archive.read(f"sagepipe-{wheel.version}.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    required = {re.split(r"[<>=!~ ;\[]", r)[0] for r in wheel.requirements}
    assert {"botocore", "numpy", "pydantic"} <= required
    assert "torch" not in required and "boto3" not in required  # the user's build; an extra
    assert 'Requires-Dist: boto3>=1.34; extra == "aws"' in metadata.splitlines()
    example = "sagepipe/definitions/examples/tabular"
    for shipped in ("pipeline.yaml", "code/train.py", "data/penguins.csv", "data/README.md"):
        assert f"{example}/{shipped}" in names
    example = "sagepipe/definitions/examples/waveforms"
    for shipped in (
        "pipeline.yaml",
        "pipeline.py",
        "code/train.py",
        "samples/sine.json",
        "samples/square-and-sawtooth.npy",  # binary: package data lists *.npy
    ):
        assert f"{example}/{shipped}" in names


def test_version_is_the_distributions(venv: Venv, wheel: Wheel, tmp_path: Path) -> None:
    result = sagepipe(venv, tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"sagepipe {wheel.version}\n"
    assert list(tmp_path.iterdir()) == []


def test_demo_runs_from_an_empty_directory_and_writes_only_the_home(
    demo: tuple[Path, subprocess.CompletedProcess[str], dict[str, tuple[int, int]]],
) -> None:
    cwd, result, shipped = demo
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"execution \w+: Succeeded in", result.stdout), result.stdout
    assert re.search(r"test set: F1 0\.\d+, AUC 0\.\d+ \(50 records\)", result.stdout)
    assert re.search(r"answer \([0-9.]+ ms\): \[\{\"id\"", result.stdout), result.stdout
    # Everything went to the default home, ./.sagepipe; the example read from the package.
    assert [p.name for p in cwd.iterdir()] == [".sagepipe"]
    assert "pipeline.yaml" in shipped and "data/penguins.csv" in shipped


def test_the_waveforms_demo_runs_from_the_installed_package(venv: Venv, tmp_path: Path) -> None:
    example = venv.site_packages() / "sagepipe" / "definitions" / "examples" / "waveforms"
    before = tree(example)
    result = sagepipe(venv, tmp_path, "demo", "--example", "waveforms", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"test set: accuracy [01]\.\d+ \(90 records\)", result.stdout), result.stdout
    # The request was the first sample file, shipped as package data.
    assert "(sample file sine.json, " in result.stdout, result.stdout
    assert re.search(r'answer \([0-9.]+ ms\): \[\{"label": "sine"', result.stdout), result.stdout
    assert tree(example) == before, "the demo wrote into the installed package"
    assert [p.name for p in tmp_path.iterdir()] == [".sagepipe"]


def test_config_init_and_compile_offline(venv: Venv, tmp_path: Path) -> None:
    assert sagepipe(venv, tmp_path, "config", "init", "st").returncode == 0
    result = sagepipe(
        venv, tmp_path, "compile", "st/pipeline.yaml", "-o", "definition.json",
        "--bucket", "my-bucket", "--role", ROLE,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    definition = json.loads((tmp_path / "definition.json").read_text())
    assert definition["Steps"] and all("Arguments" in s for s in definition["Steps"])


def test_serve_the_demo_model_and_invoke_it(
    venv: Venv,
    demo: tuple[Path, subprocess.CompletedProcess[str], dict[str, tuple[int, int]]],
) -> None:
    cwd, result, _ = demo
    arn = re.search(r"model package: (arn:\S+)", result.stdout)
    assert arn is not None, result.stdout
    server = subprocess.Popen(
        [str(venv.bin / "sagepipe"), "serve", arn.group(1), "--port", "0", "--workers", "1"],
        cwd=cwd,
        env=clean_env(venv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if "listening on" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(120), "".join(lines)
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert url is not None, "".join(lines)
        answer = sagepipe(
            venv, cwd, "invoke", url.group(1), "--content-type", "text/csv",
            "--accept", "application/json",
            "--data", "7,gentoo,biscoe,50.0,16.3,230,5700,2008",
        )  # fmt: skip
        assert answer.returncode == 0, answer.stderr
        (record,) = json.loads(answer.stdout)
        assert record["id"] == "7" and 0.0 <= record["probability"] <= 1.0
        assert record["prediction"] in (0, 1)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)
            reader.join(10)
    assert server.returncode == 0, "".join(lines)


@pytest.mark.parametrize(
    "command",
    [
        ["submit", "st/pipeline.yaml", "--bucket", "my-bucket", "--role", ROLE],
        ["s3", "ls", "s3://my-bucket/", "--storage", "s3"],
        ["describe", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"],
    ],
    ids=["submit", "s3-storage", "describe"],
)
def test_aws_commands_without_boto3_name_the_extra(
    venv: Venv, tmp_path: Path, command: list[str]
) -> None:
    assert not has_module(venv, "boto3")  # the aws extra is not installed
    assert sagepipe(venv, tmp_path, "config", "init", "st").returncode == 0
    assert_one_line_error(sagepipe(venv, tmp_path, *command), "boto3", AWS_EXTRA_HINT)


def test_without_torch_commands_that_need_it_say_how_to_install_it(
    venv_without_torch: Venv, tmp_path: Path
) -> None:
    venv = venv_without_torch
    assert not has_module(venv, "torch")
    assert has_module(venv, "numpy") and has_module(venv, "botocore")  # declared dependencies
    demo = sagepipe(venv, tmp_path, "demo")
    assert_one_line_error(demo, "torch is not installed", "pip install torch", "CPU or CUDA")
    assert list(tmp_path.iterdir()) == []  # refused before anything was written
    (tmp_path / "model").mkdir()
    served = sagepipe(venv, tmp_path, "serve", "model", "--port", "0")
    assert_one_line_error(served, "torch is not installed", "pip install torch")
    # Compiling needs no torch.
    assert sagepipe(venv, tmp_path, "config", "init", "st").returncode == 0
    compiled = sagepipe(
        venv, tmp_path, "compile", "st/pipeline.yaml", "--bucket", "my-bucket", "--role", ROLE
    )
    assert compiled.returncode == 0, compiled.stderr
    assert json.loads(compiled.stdout)["Steps"]
