"""Starting the hosts' processes and streaming their output line by line.

Each simulated host is its own process group (so torchrun and its workers stop together);
one reader thread per host feeds a queue that the caller drains in order of arrival.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sagepipe.processes import dies_with_parent

_GRACE_SECONDS = 10.0  # SageMaker sends SIGTERM, then SIGKILL after a grace period


@dataclass(frozen=True)
class HostCommand:
    """What to run for one host."""

    host: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass(frozen=True)
class LaunchResult:
    """Exit codes by host (first host first), the first host that failed on its own (not
    stopped by us), and whether the deadline stopped the job."""

    exit_codes: list[int]
    first_failed: int | None
    timed_out: bool


def python_command(
    python: str,
    entry_point: str,
    args: list[str],
    *,
    torchrun: bool,
    nnodes: int,
    nproc_per_node: int,
    node_rank: int,
    master_port: int,
) -> list[str]:
    """The toolkit's command: ``python script args``, or torchrun for distributed jobs.

    ``.sh`` entry points run as ``/bin/sh -c "./script args"``, as the toolkit's COMMAND type.
    """
    if torchrun:
        # Always name the master: torchrun's default port would clash between parallel jobs.
        return [
            python, "-m", "torch.distributed.run",
            "--nnodes", str(nnodes),
            "--nproc_per_node", str(nproc_per_node),
            "--master_addr", "127.0.0.1",
            "--master_port", str(master_port),
            "--node_rank", str(node_rank),
            entry_point, *args,
        ]  # fmt: skip
    if entry_point.endswith(".py"):
        return [python, entry_point, *args]
    return ["/bin/sh", "-c", " ".join([f"./{shlex.quote(entry_point)}", *map(shlex.quote, args)])]


def _kill_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every group, then SIGKILL whatever is left after the grace period."""
    for process in processes:
        if process.poll() is None:
            _kill_group(process, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(process, signal.SIGKILL)
            process.wait()


def _reader(
    host: str, process: subprocess.Popen[bytes], lines: queue.Queue[tuple[str, str | None]]
) -> None:
    stream = process.stdout
    if stream is not None:
        for raw in iter(stream.readline, b""):
            lines.put((host, raw.decode("utf-8", errors="replace").rstrip("\r\n")))
        stream.close()
    lines.put((host, None))


@contextlib.contextmanager
def _started(commands: list[HostCommand]) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            processes.append(
                subprocess.Popen(
                    command.argv,
                    cwd=command.cwd,
                    env=command.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    # Its own process group, to stop a host with what it started; the same
                    # session as ours, so whoever ends our session (the local engine) ends it.
                    process_group=0,
                    # And it ends by itself if we are killed.
                    preexec_fn=dies_with_parent(signal.SIGTERM),
                )
            )
        yield processes
    finally:
        # Normal exit: all have ended. Ctrl-C, an error or the deadline: stop the rest.
        _stop(processes)


def run_hosts(
    commands: list[HostCommand],
    on_line: Callable[[str, str], None],
    max_runtime_seconds: float | None,
) -> LaunchResult:
    """Run every host's command to the end; ``on_line(host, line)`` sees each output line.

    When a host fails, the others are stopped (SageMaker fails the whole job); when the
    deadline passes, all are stopped and ``timed_out`` is set.
    """
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    deadline = None if max_runtime_seconds is None else time.monotonic() + max_runtime_seconds
    timed_out = False
    first_failed: int | None = None
    with _started(commands) as processes:
        by_host = dict(zip((c.host for c in commands), processes, strict=True))
        readers = [
            threading.Thread(target=_reader, args=(host, process, lines), daemon=True)
            for host, process in by_host.items()
        ]
        for reader in readers:
            reader.start()
        open_streams = len(readers)
        while open_streams:
            if deadline is not None and time.monotonic() > deadline and not timed_out:
                timed_out = True
                _stop(processes)
            try:
                host, line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                open_streams -= 1
                if by_host[host].wait() != 0 and first_failed is None and not timed_out:
                    first_failed = list(by_host).index(host)
                    _stop(processes)  # one host failed: the job has failed
                continue
            on_line(host, line)
        for reader in readers:
            reader.join()
        codes = [process.wait() for process in processes]
    return LaunchResult(exit_codes=codes, first_failed=first_failed, timed_out=timed_out)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for the rendezvous master)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
