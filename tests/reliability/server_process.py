"""``sagepipe serve`` as a real subprocess on a free loopback port, for the reliability suite
and ``benchmarks/reliability_support`` (which imports it from the repository root)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serving.support import Server, serve_command


class ServerProcess(Server):
    """A running ``sagepipe serve`` (the serving tests' :class:`Server`) whose workers can be
    found, for the tests that kill one."""

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the supervisor), oldest first."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return sorted(int(pid) for pid in children.read_text().split())
        except OSError:
            return []


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
        serve_command(model, "--workers", str(workers), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    server = ServerProcess(process)
    try:
        server.wait_ready(120)
        yield server
    finally:
        server.stop()
