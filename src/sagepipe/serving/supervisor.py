"""The supervisor: starts the worker processes, restarts those that die, stops them all.

It holds the port (bound, not listening, with ``SO_REUSEPORT``) so ``--port 0`` resolves to
one port every worker shares and a restarting worker cannot lose it. Workers report on a
pipe each; the first start waits for every worker and fails with the reason when one
cannot load the model. SIGTERM or SIGINT drain the workers (in-flight requests finish).

A worker whose handler ran past the response timeout writes ``restart``: its replacement is
started at once, and the old worker is told to drain (SIGTERM) only once the replacement is
listening, so the port always has a listener. When a worker (re)starts after the first
start, the others are sent SIGUSR1: each closes its keep-alive connections after their next
response, and the reconnecting clients spread over all workers, the new one included.

When the workers run this interpreter, the supervisor imports torch and the server stack
once and forks the workers: they start at once and share those pages. With a requirements
venv they are started as ``python -m sagepipe.serving.worker`` under the venv's python.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sagepipe.serving import worker as worker_module
from sagepipe.serving.children import ForkedProcess
from sagepipe.serving.errors import ServingError
from sagepipe.serving.requirements import sagepipe_pythonpath
from sagepipe.serving.settings import WorkerSettings
from sagepipe.serving.worker import INDEX_ENV, SETTINGS_ENV, STATUS_FD_ENV

log = logging.getLogger("sagepipe.serving")

_MAX_BACKOFF_S = 30.0


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | ForkedProcess
    status_fd: int
    started: float
    ready: bool = False
    listening: bool = False
    reaped: bool = False
    buffer: bytes = b""
    failure: str = ""


class Supervisor:
    """Runs ``settings.workers`` worker processes on one port.

    Args:
        settings: Worker settings; ``port`` may be 0 (a free port is chosen).
        python: Interpreter for the workers (a requirements venv's, or this one).
        env: Environment of the workers (the model's environment variables included).
        startup_timeout_s: How long the first start may take.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        startup_timeout_s: float = 600.0,
    ) -> None:
        self._reserved = self._reserve(settings.host, settings.port)
        self.port = self._reserved.getsockname()[1]
        self.settings = dataclasses.replace(settings, port=self.port)
        self.python = python
        self.env = dict(os.environ if env is None else env)
        self.fork = python == sys.executable
        self.startup_timeout_s = startup_timeout_s
        self.workers: dict[int, _Worker] = {}
        self._retired: list[_Worker] = []
        self._selector = selectors.DefaultSelector()
        self._stopping = False
        self._started = False
        self._stop_requested = False
        self._failures: dict[int, int] = {}
        self._respawn_at: dict[int, float] = {}

    @staticmethod
    def _reserve(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Probe without SO_REUSEPORT first: with it, another server of this user on the same
        # port (or a port 0 the kernel hands out twice) would silently share connections.
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
                port = probe.getsockname()[1]
        except OSError as exc:
            raise ServingError(
                f"cannot bind {host}:{port}: {exc.strerror}; choose another --port"
            ) from None
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ServingError(
                f"cannot bind {host}:{port}: {exc.strerror}; choose another --port"
            ) from None
        return sock

    @property
    def url(self) -> str:
        """The server's base URL."""
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    # ------------------------------------------------------------------ starting

    def _spawn(self, index: int) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(self.env)
        threads = str(self.settings.threads)
        env.setdefault("OMP_NUM_THREADS", threads)
        env.setdefault("MKL_NUM_THREADS", threads)
        process: subprocess.Popen[bytes] | ForkedProcess
        if self.fork:
            settings = self.settings

            def run() -> int:
                os.environ.clear()
                os.environ.update(env)
                return worker_module.run_worker(settings, index, write_fd)

            others = [w.status_fd for w in self._all_workers() if not w.reaped]
            inherited = [read_fd, self._reserved.fileno(), self._selector.fileno(), *others]
            process = ForkedProcess(run, close_fds=inherited)
        else:
            env.update(
                {
                    SETTINGS_ENV: self.settings.to_json(),
                    INDEX_ENV: str(index),
                    STATUS_FD_ENV: str(write_fd),
                    "PYTHONPATH": sagepipe_pythonpath(env),
                }
            )
            process = subprocess.Popen(
                [self.python, "-m", "sagepipe.serving.worker"],
                env=env,
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
            )
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker = _Worker(index, process, read_fd, time.monotonic())
        self.workers[index] = worker
        self._selector.register(read_fd, selectors.EVENT_READ, worker)

    def _all_workers(self) -> list[_Worker]:
        return [*self.workers.values(), *self._retired]

    def _preload(self) -> None:
        # The thread counts are read by OpenMP and MKL when torch loads: set them first.
        threads = str(self.settings.threads)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, self.env.get(name, threads))
        worker_module.preload()

    def start(self) -> bool:
        """Start every worker and wait until all are ready (False: stopped by a signal).

        Raises:
            ServingError: a worker could not load the model (with its reason) or the
                workers were not ready within the startup timeout.
        """
        if self.fork:
            self._preload()
        for index in range(self.settings.workers):
            self._spawn(index)
        deadline = time.monotonic() + self.startup_timeout_s
        while not all(w.ready for w in self.workers.values()):
            if self._stop_requested:
                return False
            if time.monotonic() > deadline:
                self.stop()
                raise ServingError(
                    f"the workers were not ready within {self.startup_timeout_s:g} s"
                )
            self._poll(0.05)
            failed = [w for w in self.workers.values() if w.failure]
            if failed:
                reason = failed[0].failure
                self.stop()
                raise ServingError(f"the model server could not start: {reason}")
        self._started = True
        return True

    # ------------------------------------------------------------------ running

    def _poll(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            worker: _Worker = key.data
            self._read_status(worker)
        for worker in self._all_workers():
            code = worker.process.poll()
            if code is not None and not worker.reaped:
                self._read_status(worker)
                if worker in self._retired:
                    self._reap_retired(worker, code)
                else:
                    self._reap(worker, code)
        self._respawn_due()

    def _read_status(self, worker: _Worker) -> None:
        try:
            chunk = os.read(worker.status_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        worker.buffer += chunk
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace")
            if text == "listening":
                worker.listening = True
                self._retire_replaced(worker)
            elif text == "ready":
                worker.ready = True
                self._failures.pop(worker.index, None)
                if self._started and worker in self.workers.values():
                    self._rebalance(worker)
            elif text == "restart":
                self._replace(worker)
            elif text.startswith("failed "):
                worker.failure = text.removeprefix("failed ")

    def _replace(self, worker: _Worker) -> None:
        # The old worker answers 503 until its replacement listens (see _retire_replaced).
        if self._stopping or self._stop_requested or self.workers.get(worker.index) is not worker:
            return
        log.warning(
            "worker %d (pid %d) is stuck in a handler past the timeout; replacing it",
            worker.index,
            worker.process.pid,
        )
        self._retired.append(worker)
        self._spawn(worker.index)

    def _retire_replaced(self, replacement: _Worker) -> None:
        for old in self._retired:
            if old.index == replacement.index and not old.reaped:
                old.process.send_signal(signal.SIGTERM)

    def _rebalance(self, restarted: _Worker) -> None:
        # Keep-alive clients stay on the workers that survived; closing their connections
        # after the next response lets SO_REUSEPORT hash them over every worker again.
        for other in self.workers.values():
            if other is not restarted and other.ready and not other.reaped:
                other.process.send_signal(signal.SIGUSR1)

    def _reap_retired(self, worker: _Worker, code: int) -> None:
        worker.reaped = True
        self._selector.unregister(worker.status_fd)
        os.close(worker.status_fd)
        self._retired.remove(worker)
        log.info(
            "worker %d (pid %d) replaced; it exited with status %d",
            worker.index,
            worker.process.pid,
            code,
        )

    def _reap(self, worker: _Worker, code: int) -> None:
        if worker.reaped:
            return
        worker.reaped = True
        self._selector.unregister(worker.status_fd)
        os.close(worker.status_fd)
        if self._stopping or self._stop_requested:
            # A SIGTERM to the whole process group (`kill -TERM -PGID`, `timeout`) reaches
            # the workers too: they drain and exit while the supervisor stops.
            return
        if not self._started:
            # start() reports it; the record stays so it can.
            if not worker.failure:
                worker.failure = f"worker {worker.index} exited with status {code} early"
            return
        del self.workers[worker.index]
        failures = self._failures.get(worker.index, 0) + 1
        self._failures[worker.index] = failures
        delay = 0.0 if failures == 1 else min(_MAX_BACKOFF_S, 0.5 * 2 ** (failures - 2))
        log.warning(
            "worker %d exited with status %d; restarting it in %g s", worker.index, code, delay
        )
        self._respawn_at[worker.index] = time.monotonic() + delay

    def _respawn_due(self) -> None:
        now = time.monotonic()
        for index, when in list(self._respawn_at.items()):
            if when <= now:
                del self._respawn_at[index]
                self._spawn(index)

    def run(self, on_ready: Callable[[str], None] | None = None) -> bool:
        """Start, call ``on_ready(url)``, supervise until SIGTERM or SIGINT, then stop.

        Returns:
            True when the server ran and stopped on a signal; False when a signal came
            before the workers were ready.
        """

        def request_stop(signum: int, frame: object) -> None:
            self._stop_requested = True

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            if not self.start():
                return False
            if on_ready is not None:
                on_ready(self.url)
            while not self._stop_requested:
                self._poll(0.2)
            return True
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ------------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Drain every worker (SIGTERM), then kill those still running after the timeout."""
        self._stopping = True
        everyone = self._all_workers()
        for worker in everyone:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.timeout_s + 5
        for worker in everyone:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                worker.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not drain in time; killing it", worker.index)
                worker.process.kill()
                worker.process.wait()
        for worker in everyone:
            if not worker.reaped:
                worker.reaped = True
                self._selector.unregister(worker.status_fd)
                os.close(worker.status_fd)
        self.workers.clear()
        self._retired.clear()
        self._reserved.close()
