"""Start, find and stop the local SageMaker runtime of a sagepipe home.

The runtime (:mod:`sagepipe.endpoints.runtime`) is one detached process per home, started
with its first endpoint and stopped with its last one; ``<home>/endpoints/runtime.json``
records its pid, start time and URL. It listens on ``127.0.0.1:$SAGEPIPE_RUNTIME_PORT``
(default :data:`DEFAULT_RUNTIME_PORT`), so the URL that boto3 is given stays the same from one
session to the next; ``SAGEPIPE_RUNTIME_PORT=0`` picks a free port (tests, several homes at
once). Without the variable, a default port taken (by another home's runtime, or anything
else) means a free port instead: ``sagepipe endpoints runtime --url`` prints it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sagepipe.endpoints.errors import EndpointError
from sagepipe.processes import process_alive, process_running, process_start_time
from sagepipe.storage import sagepipe_home

#: The port of the local SageMaker runtime unless ``SAGEPIPE_RUNTIME_PORT`` says otherwise.
DEFAULT_RUNTIME_PORT = 8089
PORT_ENV = "SAGEPIPE_RUNTIME_PORT"
_STATE = "runtime.json"
_READY = "listening on "
_START_TIMEOUT_S = 30.0
# The runtime is on 127.0.0.1: never through an HTTP proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def runtime_port(environ: dict[str, str] | None = None) -> int:
    """The port to start the runtime on (``$SAGEPIPE_RUNTIME_PORT`` or the default).

    Raises:
        EndpointError: the variable is not a port number.
    """
    text = (os.environ if environ is None else environ).get(PORT_ENV, "")
    if not text:
        return DEFAULT_RUNTIME_PORT
    if not text.isdigit() or int(text) > 65535:
        raise EndpointError(f"{PORT_ENV}={text!r} is not a port; use 0-65535 (0: any free port)")
    return int(text)


def runtime_url(home: Path | None = None) -> str | None:
    """The URL of the home's running runtime, or None when it is not running."""
    home = home or sagepipe_home()
    state = _read_state(home)
    if state is None or not _recorded_process_runs(state):
        return None
    url = str(state["url"])
    try:
        with _LOOPBACK.open(f"{url}/ping", timeout=5) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return None
    # The port may have been taken over by another home's runtime since.
    return url if answer.get("home") == str(home) else None


def ensure_runtime(home: Path | None = None) -> str:
    """The URL of the home's runtime, started first when it is not running.

    Raises:
        EndpointError: it could not listen (the port is taken: the message says which
            variable chooses another).
    """
    home = home or sagepipe_home()
    with _locked(home):
        running = runtime_url(home)
        if running is not None:
            return running
        port = runtime_port()
        log_path = home / "endpoints" / "runtime.log"
        started = _start(home, port, log_path)
        if started is None and port != 0 and not os.environ.get(PORT_ENV):
            # The default port is a convenience, not a requirement: another home's runtime
            # (each project directory has its own home) may hold it.
            started = _start(home, 0, log_path)
        if started is None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise EndpointError(
                f"the local SageMaker runtime did not start on 127.0.0.1:{port}: {tail[0]}; "
                f"set {PORT_ENV} to a free port (0 picks one) and try again"
            )
        process, url = started
        state = {"pid": process.pid, "start_time": process_start_time(process.pid), "url": url}
        (home / "endpoints" / _STATE).write_text(json.dumps(state))
        return url


def _start(home: Path, port: int, log_path: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """Start a runtime on ``port``; it and its URL once it listens, None when it did not."""
    command = [sys.executable, "-m", "sagepipe.endpoints.runtime"]
    command += ["--home", str(home), "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    url = _wait_ready(process, log_path)
    if url is None:
        if process.poll() is None:
            process.kill()
        process.wait()
        return None
    return process, url


def stop_runtime(home: Path | None = None, timeout_s: float = 10.0) -> bool:
    """Stop the home's runtime; whether one was running."""
    home = home or sagepipe_home()
    with _locked(home):
        state = _read_state(home)
        (home / "endpoints" / _STATE).unlink(missing_ok=True)
        if state is None:
            return False
        pid = int(state["pid"])
        # A runtime that went idle exits by itself and its pid may be reused since: only the
        # process recorded (same pid, same start time) is signalled.
        if not _recorded_process_runs(state):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
        deadline = time.monotonic() + timeout_s
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        return True


def _recorded_process_runs(state: dict[str, Any]) -> bool:
    start_time = state.get("start_time")
    return process_running(int(state["pid"]), int(start_time) if start_time else None)


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((home / "endpoints" / _STATE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    # Two endpoints created at once must not start two runtimes.
    directory = home / "endpoints"
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "runtime.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> str | None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if _READY in text:
            return text.split(_READY, 1)[1].split()[0]
        if process.poll() is not None:
            return None
        time.sleep(0.05)
    return None
