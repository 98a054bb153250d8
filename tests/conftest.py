"""Fixtures shared by the whole test suite.

S3 tests run against moto's standalone server (``moto_server``) over real HTTP on a free
loopback port: no in-process mocks. Use ``moto_s3`` (the endpoint URL) with ``s3_env`` (the
environment a subprocess or boto3 needs: dummy credentials plus ``AWS_ENDPOINT_URL``), or
``s3_environ`` to apply that environment to the test process, and ``s3_bucket`` for a fresh
bucket.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _runtime_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local SageMaker runtimes of tests listen on free ports: tests run in many homes at
    once, and the default port (8089) may be in use on the machine."""
    monkeypatch.setenv("SAGEPIPE_RUNTIME_PORT", "0")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _moto_server_command() -> list[str]:
    script = Path(sys.executable).parent / "moto_server"
    if script.exists():
        return [str(script)]
    found = shutil.which("moto_server")
    if found is None:
        pytest.fail("moto_server is not installed: pip install 'moto[server]'")
    return [found]


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``moto_server`` on a free 127.0.0.1 port; yield its endpoint URL; stop it."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"moto_server exited: {log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not answer within 30 s")
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_env(moto_s3: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """AWS variables that point boto3 at the moto server with dummy credentials.

    The shared config and credentials files point at empty files so that nothing from the
    developer's ``~/.aws`` leaks in. Merge into ``os.environ`` for subprocesses.
    """
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_s3,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def s3_environ(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Apply :func:`s3_env` to this test's process environment (undone afterwards)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    return s3_env


@pytest.fixture
def s3_bucket(s3_environ: dict[str, str]) -> str:
    """A new, empty bucket on the moto server; returns its name."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def sagepipe_home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``SAGEPIPE_HOME`` for this test, with the local storage backend selected."""
    home = tmp_path / "sagepipe-home"
    monkeypatch.setenv("SAGEPIPE_HOME", str(home))
    monkeypatch.setenv("SAGEPIPE_STORAGE", "local")
    return home


def subprocess_env(**extra: str) -> dict[str, str]:
    """``os.environ`` plus ``extra``, for running the CLI in a subprocess."""
    env = dict(os.environ)
    env.update(extra)
    return env
