"""The HTTP protocol without a network: a fake transport records what a connection writes,
a fake app answers each request at once (or holds it, as a running invocation)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest

from sagepipe.serving.connections import ConnectionTable
from sagepipe.serving.messages import Response
from sagepipe.serving.protocol import HttpConnection, Request
from sagepipe.serving.settings import WorkerSettings


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False
        self.paused = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class FakeApp:
    """Answers /ping 200 at once; holds /invocations until ``release`` is called."""

    def __init__(self, loop: asyncio.AbstractEventLoop, settings: WorkerSettings) -> None:
        self.loop = loop
        self.max_payload = settings.max_payload_bytes
        self.max_header_bytes = settings.max_header_bytes
        self.connections = ConnectionTable(loop, settings)
        self.draining = False
        self.held: list[Request] = []

    def handle(self, request: Request) -> None:
        if request.path == b"/invocations":
            self.held.append(request)
        else:
            request.conn.respond(request, Response(200, b"ok", "text/plain"))

    def release(self) -> None:
        request = self.held.pop(0)
        request.conn.respond(request, Response(200, b"done", "text/plain"))

    def header_too_large_message(self) -> str:
        return "head too large"

    def too_large_message(self) -> str:
        return "body too large"

    def connection_closed(self) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def connect(
    loop: asyncio.AbstractEventLoop, **settings: Any
) -> tuple[HttpConnection, FakeTransport, FakeApp]:
    app = FakeApp(loop, WorkerSettings(model_dir=".", code_dir=None, **settings))  # type: ignore[arg-type]
    conn = HttpConnection(app)  # type: ignore[arg-type]
    transport = FakeTransport()
    conn.connection_made(transport)
    return conn, transport, app


PING = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
INVOKE = b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]"


def statuses(written: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", written)]


def test_a_parse_error_is_answered_after_the_pipelined_requests_before_it(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, transport, app = connect(loop)
    conn.data_received(INVOKE + PING + b"GARBAGE\r\n\r\n")
    # The invocation is running: nothing may be written yet, the 400 must wait its turn.
    assert transport.written == b""
    assert transport.paused
    app.release()
    assert statuses(transport.written) == [200, 200, 400]
    assert transport.written.index(b"done") < transport.written.index(b"ok")
    assert b"Invalid method" in transport.written
    assert transport.written.endswith(b"}") and b"Connection: close" in transport.written
    assert transport.closed


def test_bytes_after_a_protocol_error_are_not_parsed(loop: asyncio.AbstractEventLoop) -> None:
    conn, transport, _ = connect(loop)
    conn.data_received(b"BAD\r\n\r\n")
    conn.data_received(PING)
    assert statuses(transport.written) == [400]


def test_a_head_over_the_limit_is_431_whether_it_arrives_whole_or_in_pieces(
    loop: asyncio.AbstractEventLoop,
) -> None:
    whole, transport, _ = connect(loop, max_header_bytes=2048)
    whole.data_received(b"GET /ping HTTP/1.1\r\nX-A: " + b"a" * 3000 + b"\r\n\r\n")
    assert statuses(transport.written) == [431]

    pieces, transport, _ = connect(loop, max_header_bytes=2048)
    pieces.data_received(b"GET /ping HTTP/1.1\r\nX-A: ")
    for _ in range(3):
        pieces.data_received(b"a" * 1000)
    assert statuses(transport.written) == [431] and transport.closed


def test_a_head_under_the_limit_with_a_large_body_in_the_same_read_is_served(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, transport, app = connect(loop, max_header_bytes=2048)
    body = b"1" * 100_000
    conn.data_received(b"POST /invocations HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + body)
    assert app.held and app.held[0].body == body
    app.release()
    assert statuses(transport.written) == [200]


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/0.9"])
def test_http_versions_other_than_1_x_are_505(
    loop: asyncio.AbstractEventLoop, version: bytes
) -> None:
    conn, transport, _ = connect(loop)
    request = (
        b"GET /ping " + version + b"\r\n\r\n" if version != b"HTTP/0.9" else b"GET /ping\r\n\r\n"
    )
    conn.data_received(request)
    assert statuses(transport.written) == [505]


def test_a_shed_connection_closes_after_its_next_response(loop: asyncio.AbstractEventLoop) -> None:
    conn, transport, app = connect(loop)
    conn.data_received(PING)
    assert not transport.closed
    assert app.connections.shed() == 1
    conn.data_received(PING)
    assert statuses(transport.written) == [200, 200]
    assert transport.written.count(b"Connection: close") == 1 and transport.closed


def test_the_connection_limit_closes_the_oldest_idle_connection_first(
    loop: asyncio.AbstractEventLoop,
) -> None:
    settings = WorkerSettings(model_dir=".", code_dir=None, max_connections=2)  # type: ignore[arg-type]
    app = FakeApp(loop, settings)
    transports = []
    conns = []
    for index in range(4):
        conn = HttpConnection(app)  # type: ignore[arg-type]
        transport = FakeTransport()
        conn.connection_made(transport)
        conns.append(conn)
        transports.append(transport)
        if index == 0:
            conn.data_received(INVOKE)  # busy: an invocation in flight
    # The busy first one is kept; the idle second and third made room for the others.
    assert [t.closed for t in transports] == [False, True, True, False]
    assert not conns[3].over_limit
