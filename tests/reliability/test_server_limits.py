"""The model server's limits over real HTTP on loopback: the size of a request's head, the
time a request may take to arrive, idle keep-alive connections, the number of connections a
worker holds (under a lowered open-files limit too), rebalancing after a worker is killed,
no connection reset while a timed-out worker is replaced, and a bounded load."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.serving.support import SLOW_HANDLERS, write_code, write_linear

from .connections import established, rss_bytes
from .server_process import serve

pytestmark = pytest.mark.slow

BODY = b"[[1.0, 2.0]]"

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_linear(tmp_path_factory.mktemp("limits") / "model")


def _head(extra_bytes: int) -> bytes:
    return b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * extra_bytes + b"\r\n\r\n"


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """Read one response (status and body) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return int(head[9:12]), body


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _invoke(connection: http.client.HTTPConnection) -> int:
    connection.request("POST", "/invocations", BODY, JSON_HEADERS)
    response = connection.getresponse()
    response.read()
    return response.status


# ------------------------------------------------------------------------------ head size


def test_a_head_over_the_limit_is_431_and_costs_the_worker_no_memory(model: Path) -> None:
    env = {"SAGEPIPE_MAX_HEADER_BYTES": "8192"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(_head(7000))
            assert _answer(sock)[0] == 200
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(_head(9000))
            status, body = _answer(sock)
            assert status == 431
            assert "SAGEPIPE_MAX_HEADER_BYTES" in json.loads(body)["message"]
            assert _closed_by_server(sock, 5)
        (worker,) = server.worker_pids()
        before = rss_bytes(worker)
        # 64 MB of header, streamed: refused long before the end, never buffered.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /ping HTTP/1.1\r\nX-Big: ")
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(1024):
                    sock.sendall(b"b" * 65536)
            with contextlib.suppress(ConnectionResetError):
                assert _answer(sock)[0] == 431
        assert rss_bytes(worker) - before < 16 * 1024 * 1024
        assert server.ping() == 200


# ------------------------------------------------------------------------------ timeouts


def test_requests_that_never_finish_arriving_are_408_after_the_read_timeout(
    model: Path,
) -> None:
    env = {"SAGEPIPE_REQUEST_READ_TIMEOUT": "1"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        partial = [b"GET /pi", b"GET /ping HTTP/1.1\r\nHost: x\r\n", b"POST /invocations HTTP/1.1"]
        sockets = []
        for index in range(60):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(partial[index % len(partial)])
            sockets.append(sock)
        try:
            for sock in sockets:
                status, body = _answer(sock)
                assert status == 408
                assert "SAGEPIPE_REQUEST_READ_TIMEOUT" in json.loads(body)["message"]
                assert _closed_by_server(sock, 5)
        finally:
            for sock in sockets:
                sock.close()
        assert server.ping() == 200


def test_idle_connections_close_after_the_keep_alive_timeout(model: Path) -> None:
    env = {"SAGEPIPE_KEEP_ALIVE_TIMEOUT": "1"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as used,
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as unused,
        ):
            used.sendall(_head(10))
            assert _answer(used)[0] == 200
            assert _closed_by_server(used, 10)
            assert _closed_by_server(unused, 10)
        assert server.ping() == 200


def test_a_busy_connection_is_not_closed_as_idle(tmp_path: Path) -> None:
    # A request whose handler runs longer than the idle timeout is still answered.
    model = tmp_path / "slow"
    write_code(model, SLOW_HANDLERS)
    env = {"SAGEPIPE_KEEP_ALIVE_TIMEOUT": "1"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        status, _, body = server.request("POST", "/invocations", b'{"sleep": 2.5}', JSON_HEADERS)
        assert (status, json.loads(body)) == (200, {"sleep": 2.5})


# ------------------------------------------------------------------------------ connections


def test_connections_over_the_limit_close_the_oldest_idle_ones(model: Path) -> None:
    env = {"SAGEPIPE_MAX_CONNECTIONS": "20"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        sockets = [
            socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(30)
        ]
        try:
            # Each accepted connection beyond 20 closed the oldest idle one.
            newest = sockets[-1]
            newest.sendall(_head(10))
            assert _answer(newest)[0] == 200
            assert all(_closed_by_server(sock, 5) for sock in sockets[:10])
            assert not any(_closed_by_server(sock, 0.2) for sock in sockets[12:])
            assert server.ping() == 200
        finally:
            for sock in sockets:
                sock.close()


def _low_open_files_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_ping_answers_with_more_idle_connections_than_the_open_files_limit(
    model: Path,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 600:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with serve(model, preexec_fn=_low_open_files_limit) as server:
        server.wait_healthy()
        assert "RLIMIT_NOFILE allows" in server.log
        sockets = []
        try:
            for _ in range(400):
                sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            for _ in range(5):
                assert server.ping() == 200
            status, _, _ = server.request("POST", "/invocations", BODY, JSON_HEADERS)
            assert status == 200
        finally:
            for sock in sockets:
                sock.close()
    assert "Traceback" not in server.log


# ------------------------------------------------------------------------------ rebalancing


class _Load:
    """Keep-alive clients on their own threads, each sending invocations until stopped;
    a client whose connection fails or is closed opens a new one."""

    def __init__(self, port: int, clients: int) -> None:
        self.port = port
        self.stopping = threading.Event()
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def __enter__(self) -> _Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        deadline = time.monotonic() + 60
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                self.statuses.append(_invoke(connection))
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(type(exc).__name__)
                connection.close()
            time.sleep(0.002)
        connection.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_keep_alive_load_returns_to_a_restarted_worker(model: Path) -> None:
    with serve(model, workers=2) as server:
        server.wait_healthy()
        first, second = server.worker_pids()
        with _Load(server.port, 16) as load:
            _wait_for(
                lambda: established(first, server.port) + established(second, server.port) == 16
            )
            os.kill(second, signal.SIGKILL)
            _wait_for(lambda: len(server.worker_pids()) == 2 and second not in server.worker_pids())
            (restarted,) = set(server.worker_pids()) - {first}
            # Its clients went to the survivor; once the restarted worker is ready, the
            # survivor closes its connections after their next answer and they spread again.
            _wait_for(lambda: established(restarted, server.port) >= 3)
            served = len(load.statuses)
            _wait_for(lambda: len(load.statuses) > served + 200)
        assert set(load.statuses) == {200}
        assert "worker 1 exited" in server.log


# ------------------------------------------------------------------------------ timeouts


def test_with_one_worker_a_timed_out_handler_never_leaves_the_port_without_listener(
    tmp_path: Path,
) -> None:
    model = tmp_path / "slow"
    write_code(model, SLOW_HANDLERS)
    env = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"}
    with serve(model, env=env) as server:
        server.wait_healthy()
        (stuck,) = server.worker_pids()
        answers: list[object] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                try:
                    answers.append(
                        server.request("POST", "/invocations", b'{"sleep": 0}', JSON_HEADERS)[0]
                    )
                except (OSError, http.client.HTTPException) as exc:
                    answers.append(type(exc).__name__)
                time.sleep(0.005)

        thread = threading.Thread(target=probe)
        thread.start()
        try:
            status, _, _ = server.request(
                "POST", "/invocations", b'{"sleep": 30}', JSON_HEADERS, timeout=30
            )
            assert status == 504
            _wait_for(lambda: stuck not in server.worker_pids() and len(server.worker_pids()) == 1)
            server.wait_healthy()
            settled = len(answers)
            _wait_for(lambda: len(answers) > settled + 20)
        finally:
            stop.set()
            thread.join(30)
        assert set(answers) <= {200, 503}, [a for a in answers if a not in (200, 503)]
        assert 503 in answers and answers[-1] == 200


# ------------------------------------------------------------------------------ bounded load


def test_a_bounded_load_on_keep_alive_connections_is_answered_without_errors(
    model: Path,
) -> None:

    request = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    )
    answers: list[tuple[int, bytes]] = []

    async def client(port: int, count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(count):
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n")[0])
                answers.append((int(head[9:12]), await reader.readexactly(length)))
        finally:
            writer.close()

    async def load(port: int) -> None:
        await asyncio.wait_for(asyncio.gather(*(client(port, 150) for _ in range(32))), 120)

    with serve(model, workers=2) as server:
        server.wait_healthy()
        workers = server.worker_pids()
        asyncio.run(load(server.port))
        assert len(answers) == 32 * 150
        assert set(answers) == {(200, b"[[5.5]]")}
        assert server.worker_pids() == workers  # no worker died
        assert server.ping() == 200
    assert "Traceback" not in server.log
