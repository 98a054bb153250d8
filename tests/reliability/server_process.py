"""``sagepipe serve`` as a real subprocess on a free loopback port, for the reliability suite
and ``benchmarks/reliability_support`` (which imports it from the repository root)."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class ServerProcess:
    """A running ``sagepipe serve``; its output is collected in :attr:`log`."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "listening on " in line and not self.url:
                self.url = line.split("listening on ", 1)[1].strip()
                self._ready.set()
        self._ready.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the supervisor), oldest first."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return sorted(int(pid) for pid in children.read_text().split())
        except OSError:
            return []

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 10
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def ping(self) -> int:
        return self.request("GET", "/ping")[0]

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.ping() == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server is not healthy:\n{self.log}")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def serve(
    model: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ServerProcess]:
    """Run ``sagepipe serve MODEL --port 0 --workers N`` until the block ends."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sagepipe", "serve", str(model)),
            *("--port", "0", "--workers", str(workers), *args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    server = ServerProcess(process)
    try:
        if not server._ready.wait(120) or not server.url:
            raise RuntimeError(f"the server did not start:\n{server.log}")
        yield server
    finally:
        server.stop()
