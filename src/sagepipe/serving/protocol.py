"""HTTP/1.1 on asyncio with the ``httptools`` parser: keep-alive, pipelining, no framework.

One :class:`HttpConnection` per client socket. Requests are parsed by callbacks; a request
whose ``Content-Length`` (or streamed size) is over the limit has its body discarded as it
arrives and is answered 413 once complete, so clients always read the answer. Responses of a
connection go out in request order: the next pipelined request starts when the previous one
is answered, and a protocol error (malformed bytes, a head over the size limit, a request
too slow to arrive) is answered after the requests before it, then the connection closes.

The request line and headers of one request are counted as they arrive (a head over
``max_header_bytes`` is a 431 before the parser has buffered more than one read of it);
timeouts are enforced by :class:`~sagepipe.serving.connections.ConnectionTable`.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import httptools

from sagepipe.serving.messages import Response

if TYPE_CHECKING:
    from sagepipe.serving.worker_app import WorkerApp

log = logging.getLogger("sagepipe.serving")

_MAX_PIPELINED = 16
_status_lines: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <code> <phrase>\\r\\n``, cached."""
    line = _status_lines.get(status)
    if line is None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
        _status_lines[status] = line
    return line


def _clean(value: str) -> str:
    # A CR or LF in a handler-chosen header would split the response (header injection).
    return value.replace("\r", " ").replace("\n", " ")


def encode_response(response: Response, keep_alive: bool) -> bytes:
    """The full response bytes: status line, headers, body."""
    head = [
        status_line(response.status),
        b"Content-Type: ",
        _clean(response.content_type).encode("latin-1", "replace"),
        b"\r\nContent-Length: ",
        str(len(response.body)).encode("ascii"),
        b"\r\n",
    ]
    for name, value in response.headers.items():
        head.append(f"{_clean(name)}: {_clean(value)}\r\n".encode("latin-1", "replace"))
    if not keep_alive:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    head.append(response.body)
    return b"".join(head)


class Request:
    """A parsed request (or, with ``error`` set, the protocol error that ends a connection)."""

    __slots__ = ("body", "conn", "error", "headers", "keep_alive", "method", "path", "too_large")

    def __init__(
        self,
        method: bytes,
        path: bytes,
        headers: dict[bytes, bytes],
        body: bytes,
        keep_alive: bool,
        too_large: bool,
        conn: HttpConnection,
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.too_large = too_large
        self.conn = conn
        self.error: Response | None = None


class HttpConnection(asyncio.Protocol):
    """One client connection; hands complete requests to the worker app in order.

    Attributes:
        reading: A request has begun arriving and is not complete yet.
        requests: How many requests have begun arriving on this connection.
        opened: Loop time at which the connection was accepted.
        mark: What the last timeout sweep saw (see ``ConnectionTable``), and ``mark_since``
            when it first saw it: requests pay no clock reads.
        shed: Close the connection after its next response (``Connection: close``).
        over_limit: Opened beyond the worker's connection limit: only ``/ping`` is served.
    """

    def __init__(self, app: WorkerApp) -> None:
        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.fd = -1
        self.busy = False
        self.closed = False
        self.closing = False
        self.reading = False
        self.shed = False
        self.over_limit = False
        self.requests = 0
        self.opened = 0.0
        self.mark: tuple[int, bool, bool] | None = None
        self.mark_since = 0.0
        self.pending: deque[Request] = deque()
        self._in_head = True
        self._head_bytes = 0
        self._head_size = 0
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._parts: list[bytes] = []
        self._size = 0
        self._too_large = False

    # -------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1
        self.opened = self.app.loop.time()
        self.app.connections.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.app.connections.closed(self)
        self.pending.clear()
        self.app.connection_closed()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # a protocol error is answered; what follows it is not read
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request asking for it was answered with Connection: close (RFC 9110
            # lets a server ignore Upgrade); the bytes after it are not HTTP/1.1.
            self.closing = True
        except httptools.HttpParserError as exc:
            self.fail(400, f"malformed HTTP request: {_parser_reason(exc)}")
        else:
            if self._in_head and self._head_bytes > self.app.max_header_bytes:
                self.fail(431, self.app.header_too_large_message())

    # -------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        self.reading = True
        self.requests += 1
        self._url = b""
        self._headers = {}
        self._head_size = 0
        self._parts = []
        self._size = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value
        self._head_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        # A head that arrived whole in one read is measured here; a longer one is refused
        # by data_received as it streams in.
        if self._head_size + len(self._url) > self.app.max_header_bytes:
            self.fail(431, self.app.header_too_large_message())
            return
        version = self.parser.get_http_version()
        if version != "1.1" and version != "1.0":
            self.fail(505, f"HTTP/{version} is not supported; send HTTP/1.1 (or HTTP/1.0)")
            return
        length = self._headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.app.max_payload:
            self._too_large = True
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self.transport:
            if self._too_large:
                # The client waits for our word before sending the body: refuse it now.
                self.fail(413, self.app.too_large_message())
            elif not self.busy:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._size += len(body)
        if self._size > self.app.max_payload:
            self._too_large = True
            self._parts = []
        else:
            self._parts.append(body)

    def on_message_complete(self) -> None:
        self.reading = False
        self._in_head = True
        self._head_bytes = 0
        if self.closing:
            return
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        url = self._url
        query = url.find(b"?")
        request = Request(
            self.parser.get_method(),
            url if query < 0 else url[:query],
            self._headers,
            body,
            self.parser.should_keep_alive() and not self.parser.should_upgrade(),
            self._too_large,
            self,
        )
        if self.busy:
            self.pending.append(request)
            if len(self.pending) >= _MAX_PIPELINED and self.transport is not None:
                self.transport.pause_reading()
            return
        self.busy = True
        self.app.handle(request)

    # -------------------------------------------------------------- answering

    def respond(self, request: Request, response: Response) -> None:
        """Send the answer of ``request`` and start the next pipelined one."""
        if self.closed or self.transport is None:
            return
        keep_alive = request.keep_alive and not self.shed and not self.app.draining
        self.transport.write(encode_response(response, keep_alive))
        if not keep_alive:
            self.close()
            return
        if self.pending:
            if len(self.pending) == _MAX_PIPELINED and not self.closing:
                self.transport.resume_reading()
            following = self.pending.popleft()
            if following.error is not None:
                self.respond(following, following.error)
            else:
                self.app.handle(following)
        else:
            self.busy = False

    def fail(self, status: int, message: str) -> None:
        """Answer a protocol error once the requests before it are answered, then close."""
        if self.closing or self.closed or self.transport is None:
            return
        self.closing = True
        self.transport.pause_reading()
        error = Request(b"", b"", {}, b"", False, False, self)
        error.error = Response.error(status, message)
        if self.busy:
            self.pending.append(error)
        else:
            self.busy = True
            self.respond(error, error.error)

    def close(self) -> None:
        """Close the connection (pending writes are flushed first)."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def is_idle(self) -> bool:
        """Whether no request of this connection is in progress."""
        return self.closed or not self.busy

    def is_fresh(self, now: float, grace: float) -> bool:
        """Whether the connection opened less than ``grace`` ago and has sent nothing yet."""
        return not self.requests and not self.closed and now - self.opened < grace

    def is_waiting(self) -> bool:
        """Whether the connection is open with nothing in progress, not even a partial
        request: an idle keep-alive connection."""
        return not (self.busy or self.reading or self.closed)


def _parser_reason(exc: httptools.HttpParserError) -> str:
    # httptools prefixes llhttp's reason with its error name, e.g. "HPE_INVALID_METHOD: ...".
    text = str(exc).strip()
    return text or type(exc).__name__


def header_text(headers: dict[bytes, bytes], name: bytes, default: str = "") -> str:
    """A request header as text (latin-1, as HTTP defines), or ``default``."""
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else default


def decoded_headers(headers: dict[bytes, bytes]) -> dict[str, Any]:
    """All request headers as text, names lower-cased."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
