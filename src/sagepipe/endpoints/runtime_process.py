"""Start, find and stop the local SageMaker runtime of a sagepipe home.

The runtime (:mod:`sagepipe.endpoints.runtime`) is one detached process per home, started
with its first endpoint and stopped with its last one; ``<home>/endpoints/runtime.json``
records its pid and URL. It listens on ``127.0.0.1:$SAGEPIPE_RUNTIME_PORT`` (default
:data:`DEFAULT_RUNTIME_PORT`), so the URL that boto3 is given stays the same from one session
to the next; ``SAGEPIPE_RUNTIME_PORT=0`` picks a free port (tests, several homes at once).
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

from sagepipe.endpoints.errors import EndpointError
from sagepipe.processes import process_alive
from sagepipe.storage import sagepipe_home

#: The port of the local SageMaker runtime unless ``SAGEPIPE_RUNTIME_PORT`` says otherwise.
DEFAULT_RUNTIME_PORT = 8089
PORT_ENV = "SAGEPIPE_RUNTIME_PORT"
_STATE = "runtime.json"
_READY = "listening on "
_START_TIMEOUT_S = 30.0


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
    if state is None or not process_alive(int(state["pid"])):
        return None
    url = str(state["url"])
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
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
        directory = home / "endpoints"
        log_path = directory / "runtime.log"
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
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise EndpointError(
                f"the local SageMaker runtime did not start on 127.0.0.1:{port}: {tail[0]}; "
                f"set {PORT_ENV} to a free port (0 picks one) and try again"
            )
        (directory / _STATE).write_text(json.dumps({"pid": process.pid, "url": url}))
        return url


def stop_runtime(home: Path | None = None, timeout_s: float = 10.0) -> bool:
    """Stop the home's runtime; whether one was running."""
    home = home or sagepipe_home()
    with _locked(home):
        state = _read_state(home)
        (home / "endpoints" / _STATE).unlink(missing_ok=True)
        if state is None:
            return False
        pid = int(state["pid"])
        if not process_alive(pid):
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


def _read_state(home: Path) -> dict[str, str | int] | None:
    try:
        state: dict[str, str | int] = json.loads((home / "endpoints" / _STATE).read_text())
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
