"""The smoke test of a model package (SageMaker's model validation): serve it locally and
send it every sample payload.

The model server is ``sagepipe serve`` in a subprocess (the local engine never imports the
server stack), on a free loopback port (``--port 0``; the URL is read from its "listening
on" line), with the package's container environment. Once ``/ping`` answers, each sample is
POSTed to ``/invocations`` with its content type and the first response type as ``Accept``.
Any answer but 2xx fails the smoke test, naming the payload and the server's reason. The
server is stopped whatever happens (SIGTERM, then SIGKILL after a grace period); its output
is kept in a log file that the step log gets a copy of.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sagepipe.local.errors import StepFailure

READY = re.compile(r"listening on (http://\S+)")
START_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
_POLL_S = 0.05
_REASON_CHARS = 600


@dataclass(frozen=True)
class SamplePayload:
    """One request of the smoke test: a name for messages (``text/csv sample payload of
    s3://...``), its content type and body."""

    name: str
    content_type: str
    body: bytes


def smoke_test(
    model_archive: Path,
    samples: list[SamplePayload],
    accept: str,
    environment: Mapping[str, str],
    server_log: Path,
    log: Callable[[str], None],
) -> None:
    """Serve ``model_archive`` and send every sample; return when all got a 2xx answer.

    Raises:
        StepFailure: the server did not start, or a sample was not answered with 2xx.
    """
    log(f"sagepipe: smoke test: serving {model_archive.name} ({len(samples)} sample payload(s))")
    try:
        with local_server(model_archive, environment, server_log) as (url, process):
            for sample in samples:
                _invoke(url, sample, accept, process, server_log)
                log(f"sagepipe: smoke test: the {sample.name} was answered")
    finally:
        _copy_log(server_log, log)


@contextlib.contextmanager
def local_server(
    model: Path | str, environment: Mapping[str, str], server_log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``sagepipe serve MODEL`` on a free loopback port until the block ends.

    Yields:
        The server's base URL once ``/ping`` answers, and its process.

    Raises:
        StepFailure: the server exited or was not ready in time (with its output's tail).
    """
    command = [sys.executable, "-m", "sagepipe", "serve", str(model)]
    command += ["--port", "0", "--workers", "1"]
    env = {**os.environ, **environment, "PYTHONUNBUFFERED": "1"}
    server_log.parent.mkdir(parents=True, exist_ok=True)
    with server_log.open("wb") as output:
        # The server stays in the caller's process group: if a step process is killed, the
        # engine kills the group, server and workers included.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield _wait_ready(process, server_log), process
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], server_log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = READY.search(server_log.read_text(errors="replace"))
        if match:
            return _ping(match.group(1), process, server_log)
        if process.poll() is not None:
            raise StepFailure(
                f"the model server exited with status {process.returncode} before "
                f"it was ready: {_tail(server_log)}"
            )
        time.sleep(_POLL_S)
    raise StepFailure(
        f"the model server was not ready within {START_TIMEOUT_S:g} s: {_tail(server_log)}"
    )


def _ping(url: str, process: subprocess.Popen[bytes], server_log: Path) -> str:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise StepFailure(f"GET /ping answered HTTP {exc.code}: {_reason(exc.read())}") from None
    except OSError as exc:
        raise StepFailure(
            f"GET /ping failed ({exc}); server exit status {process.poll()}: {_tail(server_log)}"
        ) from None
    return url


def _invoke(
    url: str,
    sample: SamplePayload,
    accept: str,
    process: subprocess.Popen[bytes],
    server_log: Path,
) -> None:
    request = urllib.request.Request(
        f"{url}/invocations",
        data=sample.body,
        headers={"Content-Type": sample.content_type, "Accept": accept},
        method="POST",
    )
    what = f"smoke test: the {sample.name} (Content-Type {sample.content_type}, Accept {accept})"
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise StepFailure(
            f"{what} was refused with HTTP {exc.code}: {_reason(exc.read())}"
        ) from None
    except OSError as exc:
        raise StepFailure(
            f"{what} got no answer ({exc}); server exit status {process.poll()}: "
            f"{_tail(server_log)}"
        ) from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _reason(body: bytes) -> str:
    """The server's reason: the ``message`` of its JSON error body, else the body's text."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        text = parsed["message"]
    if not text:
        return "(empty body)"
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "..."


def _tail(server_log: Path, lines: int = 8) -> str:
    text = server_log.read_text(errors="replace") if server_log.is_file() else ""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept) or "(no output)"


def _copy_log(server_log: Path, log: Callable[[str], None]) -> None:
    if not server_log.is_file():
        return
    for line in server_log.read_text(errors="replace").splitlines():
        log(f"serve | {line}")
