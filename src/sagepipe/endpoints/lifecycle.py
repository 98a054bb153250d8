"""Create, describe, list and delete local endpoints: detached ``sagepipe serve`` processes.

An endpoint outlives the Python process that created it (its server runs in its own session),
so its state lives in the run store: a server that is gone while the store says
``InService`` is reported ``Failed`` with the tail of its log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from sagepipe.endpoints.errors import EndpointError
from sagepipe.endpoints.runtime_process import ensure_runtime, stop_runtime
from sagepipe.endpoints.store import (
    CREATING,
    DELETED,
    FAILED,
    IN_SERVICE,
    EndpointRecord,
    EndpointStore,
)
from sagepipe.processes import process_alive
from sagepipe.storage import sagepipe_home

_READY = re.compile(r"listening on (http://\S+)")
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_TAIL_LINES = 20


def endpoint_dir(name: str, home: Path | None = None) -> Path:
    """Where an endpoint's files (its server log) live."""
    return (home or sagepipe_home()) / "endpoints" / name


def create_endpoint(
    name: str,
    model: str,
    *,
    entry_point: str | None = None,
    source_dir: str | None = None,
    environment: dict[str, str] | None = None,
    workers: int | None = None,
    home: Path | None = None,
    startup_timeout_s: float = 300.0,
) -> EndpointRecord:
    """Start a named, long-lived local model server and wait until it listens.

    Args:
        name: The endpoint's name (1-63 letters, digits and hyphens).
        model: ``model.tar.gz`` path or URI, or a model directory (as ``sagepipe serve``).
        entry_point: Inference script (default: the model's ``code/``).
        source_dir: Directory or ``sourcedir.tar.gz`` with the script.
        environment: The model's container environment.
        workers: Worker processes of the server.
        home: The sagepipe home (default ``$SAGEPIPE_HOME``).
        startup_timeout_s: How long to wait for the server to listen.

    Returns:
        The ``InService`` endpoint, invoked at ``<runtime URL>/endpoints/<name>/invocations``
        by boto3 (see :mod:`sagepipe.endpoints.runtime_process`) or at its own URL.

    Raises:
        EndpointError: the local SageMaker runtime could not start, a bad name, a live
            endpoint with that name, or a server that did not start (the endpoint is then
            recorded ``Failed`` with the tail of its log).
    """
    if not _NAME.match(name):
        raise EndpointError(
            f"{name!r} is not an endpoint name: use 1-63 letters, digits and hyphens, "
            "starting with a letter or digit"
        )
    home = home or sagepipe_home()
    # One address for every endpoint: boto3's sagemaker-runtime clients are pointed at it.
    ensure_runtime(home)
    with EndpointStore(home) as store:
        existing = store.find(name)
        if existing is not None and refresh(store, existing).status in (IN_SERVICE, CREATING):
            raise EndpointError(
                f"local endpoint {name!r} already exists and is {existing.status}; delete it "
                f"first (`sagepipe endpoints delete {name}`) or choose another name"
            )
        directory = endpoint_dir(name, home)
        directory.mkdir(parents=True, exist_ok=True)
        log_path = directory / "server.log"
        command = [sys.executable, "-m", "sagepipe", "serve", model, "--port", "0"]
        for flag, value in (
            ("--entry-point", entry_point),
            ("--source-dir", source_dir),
            ("--workers", workers),
        ):
            if value is not None:
                command += [flag, str(value)]
        env = dict(environment or {})
        with log_path.open("wb") as log:
            # Its own session: the server outlives us, and delete stops its whole group.
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        now = time.time()
        record = EndpointRecord(
            name=name,
            model=model,
            url=None,
            pid=process.pid,
            status=CREATING,
            log_path=str(log_path),
            environment=env,
            failure_reason=None,
            created_at=now,
            updated_at=now,
        )
        store.put(record)
        url = _wait_ready(process, log_path, startup_timeout_s)
        if url is None:
            _stop(process.pid, 10.0)
            reason = f"the model server did not start:\n{log_tail(log_path)}"
            store.put(record.with_status(FAILED, time.time(), reason))
            if not _live(store):
                stop_runtime(home)
            raise EndpointError(f"local endpoint {name!r} failed: {reason}")
        ready = replace(record, url=url, status=IN_SERVICE, updated_at=time.time())
        store.put(ready)
        return ready


def describe_endpoint(name: str, home: Path | None = None) -> EndpointRecord:
    """The endpoint called ``name``, its status checked against its server process.

    Raises:
        EndpointNotFoundError: there is no such endpoint.
    """
    with EndpointStore(home or sagepipe_home()) as store:
        return refresh(store, store.get(name))


def list_endpoints(home: Path | None = None) -> list[EndpointRecord]:
    """Every local endpoint, oldest first, statuses checked."""
    with EndpointStore(home or sagepipe_home()) as store:
        return [refresh(store, record) for record in store.all()]


def delete_endpoint(name: str, home: Path | None = None, timeout_s: float = 30.0) -> EndpointRecord:
    """Stop the endpoint's server (SIGTERM drains it; SIGKILL after ``timeout_s``); the
    local SageMaker runtime too when no endpoint is left.

    Raises:
        EndpointNotFoundError: there is no such endpoint.
    """
    home = home or sagepipe_home()
    with EndpointStore(home) as store:
        record = store.get(name)
        if record.pid is not None and record.status != DELETED:
            _stop(record.pid, timeout_s)
        deleted = record.with_status(DELETED, time.time(), record.failure_reason)
        store.put(deleted)
        live = _live(store)
    if not live:
        stop_runtime(home)
    return deleted


def _live(store: EndpointStore) -> bool:
    """Whether any endpoint of the store is serving or starting."""
    return any(refresh(store, r).status in (IN_SERVICE, CREATING) for r in store.all())


def refresh(store: EndpointStore, record: EndpointRecord) -> EndpointRecord:
    """``record``, marked ``Failed`` (with its log tail) if its server is gone."""
    if record.status not in (IN_SERVICE, CREATING) or record.pid is None:
        return record
    if process_alive(record.pid):
        return record
    reason = f"the model server (pid {record.pid}) exited:\n{log_tail(Path(record.log_path))}"
    failed = record.with_status(FAILED, time.time(), reason)
    store.put(failed)
    return failed


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ("" if it is missing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> str | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = _READY.search(log_path.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
        if process.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def _stop(pid: int, timeout_s: float) -> None:
    try:
        # The server drains and stops its own workers; signalling them too would race it.
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process_alive(pid):
            _kill_group(pid)  # any worker the server left behind
            return
        time.sleep(0.05)
    _kill_group(pid)
    while process_alive(pid):
        time.sleep(0.05)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
