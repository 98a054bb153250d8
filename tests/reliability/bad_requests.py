"""A corpus of malformed and hostile requests to the model server, as raw bytes on a socket.

Each :class:`BadRequest` is sent on its own connection to a server started with
:data:`SERVER_ENV` (one worker, a 1 MB payload limit, a 1 s request read timeout) serving
the TorchScript model ``tests.serving.support.write_linear`` writes
(``y = x0 + 2*x1 + 0.5``, two inputs).
:func:`send` returns the responses read back; the expected ones are the statuses of the
requests before it on the connection (pipelining) followed by one of ``expected``.

Used by ``tests/reliability/test_bad_requests.py`` and by ``benchmarks/reliability_support``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import time
from dataclasses import dataclass, field

#: The environment of the server the corpus is sent to.
SERVER_ENV = {
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1",
    "SAGEPIPE_REQUEST_READ_TIMEOUT": "1",
    "SAGEPIPE_KEEP_ALIVE_TIMEOUT": "30",
}
_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class BadRequest:
    """One kind of bad request.

    Attributes:
        kind: Short name.
        payload: The bytes sent, at once.
        expected: The statuses one of which answers the bad request.
        before: Statuses of the valid requests pipelined before it, answered first.
        closes: Whether the server must close the connection after the answer.
    """

    kind: str
    payload: bytes
    expected: tuple[int, ...]
    before: tuple[int, ...] = ()
    closes: bool = True


@dataclass
class Answer:
    """What came back on the connection."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    closed: bool = False

    @property
    def reason(self) -> str:
        """The last response's ``message`` (or its body as text)."""
        if not self.bodies:
            return ""
        body = self.bodies[-1]
        try:
            value = json.loads(body)
        except ValueError:
            return body.decode("utf-8", "replace")
        if isinstance(value, dict):
            return str(value.get("message") or value.get("status") or value)
        return str(value)


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def _post(body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def _raw_post(headers: str, body: bytes = b"") -> bytes:
    return f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode() + body


def _npy(magic: bytes, header: str, data: bytes = b"") -> bytes:
    text = header.encode("latin-1")
    return magic + struct.pack("<H", len(text)) + text + data


def _valid_npy() -> bytes:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"
    return _npy(b"\x93NUMPY\x01\x00", header.ljust(117) + "\n", struct.pack("<2f", 1.0, 2.0))


def _chunked(chunks: bytes) -> bytes:
    return _raw_post("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", chunks)


_TLS_HELLO = bytes.fromhex("160301002a0100002603035b" + "00" * 32 + "0000020035010000")
_PING = _get("/ping")
_JSON_OK = _post(b"[[1.0, 2.0]]")

CORPUS: tuple[BadRequest, ...] = (
    # ---------------------------------------------------------------- request line
    BadRequest("garbage request line", b"HELLO\r\n\r\n", (400,)),
    BadRequest("unknown method", b"FOO /ping HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("lower-case method", b"get /ping HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("method too long", b"G" * 200 + b" /ping HTTP/1.1\r\n\r\n", (400,)),
    BadRequest("no HTTP version", b"GET /ping\r\n\r\n", (505,)),
    BadRequest("HTTP/0.9 request", b"GET /ping\r\n", (408,)),
    BadRequest("HTTP/2.0 version", b"GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", (505,)),
    BadRequest("HTTP/9.9 version", b"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("h2c connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400,)),
    BadRequest("misspelt protocol", b"GET /ping HTXP/1.1\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("space inside the URL", b"GET /pi ng HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("NUL inside the URL", b"GET /pi\x00ng HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
    BadRequest("control byte in the URL", b"GET /\x01ping HTTP/1.1\r\n\r\n", (400,)),
    BadRequest("URL over the head limit", _get("/" + "a" * 70_000), (431,)),
    BadRequest("absolute URI of another host", _get("http://example.com/admin"), (404,), (), False),
    BadRequest("unknown path", _get("/admin"), (404,), (), False),
    BadRequest("path traversal", _get("/../../etc/passwd"), (404,), (), False),
    BadRequest("encoded path traversal", _get("/%2e%2e/%2e%2e/etc/passwd"), (404,), (), False),
    BadRequest("GET /invocations", _get("/invocations"), (405,), (), False),
    BadRequest("TRACE /invocations", b"TRACE /invocations HTTP/1.1\r\n\r\n", (405,), (), False),
    BadRequest("CONNECT tunnel", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n", (404,)),
    BadRequest(
        "WebSocket upgrade",
        _get("/invocations", "Connection: Upgrade\r\nUpgrade: websocket\r\n"),
        (405,),
    ),
    BadRequest(
        "h2c upgrade",
        _get(
            "/invocations",
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n",
        ),
        (405,),
    ),
    # ---------------------------------------------------------------- headers
    BadRequest("header without a colon", b"GET /ping HTTP/1.1\r\nHost x\r\n\r\n", (400,)),
    BadRequest("space before the colon", b"GET /ping HTTP/1.1\r\nHost : x\r\n\r\n", (400,)),
    BadRequest("invalid header name", b"GET /ping HTTP/1.1\r\nHo(st: x\r\n\r\n", (400,)),
    BadRequest("obsolete line folding", b"GET /ping HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", (400,)),
    BadRequest("bare CR line ends", b"GET /ping HTTP/1.1\rHost: x\r\r", (400,)),
    BadRequest("NUL in a header value", b"GET /ping HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", (400,)),
    BadRequest(
        "CR injected in a header value",
        b"GET /ping HTTP/1.1\r\nX-Amzn-SageMaker-Custom-Attributes: a\rSet-Cookie: x\r\n\r\n",
        (400,),
    ),
    BadRequest("one 100 KB header", _get("/ping", "X-Big: " + "a" * 100_000 + "\r\n"), (431,)),
    BadRequest("5,000 headers", _get("/ping", "X-H: 0123456789\r\n" * 5000), (431,)),
    BadRequest("2 MB header", _get("/ping", "X-Big: " + "b" * 2_000_000 + "\r\n"), (431,)),
    # ---------------------------------------------------------------- body framing
    BadRequest(
        "two different Content-Lengths",
        _raw_post("Content-Length: 5\r\nContent-Length: 6\r\n", b"[1,2]x"),
        (400,),
    ),
    BadRequest("negative Content-Length", _raw_post("Content-Length: -5\r\n"), (400,)),
    BadRequest("non-numeric Content-Length", _raw_post("Content-Length: five\r\n"), (400,)),
    BadRequest("Content-Length with a sign", _raw_post("Content-Length: +5\r\n", b"[1,2]"), (400,)),
    BadRequest(
        "Content-Length overflowing 64 bits",
        _raw_post("Content-Length: 99999999999999999999999\r\n"),
        (400,),
    ),
    BadRequest(
        "Content-Length and chunked",
        _raw_post(
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"5\r\n[1,2]\r\n0\r\n\r\n"
        ),
        (400,),
    ),
    BadRequest("unknown Transfer-Encoding", _raw_post("Transfer-Encoding: gzip\r\n"), (400,)),
    BadRequest("chunk size not hex", _chunked(b"zz\r\n[1,2]\r\n0\r\n\r\n"), (400,)),
    BadRequest("chunk size overflowing", _chunked(b"fffffffffffffffffffff\r\n"), (400,)),
    BadRequest("chunk without its CRLF", _chunked(b"5\r\n[1,2]XX0\r\n\r\n"), (400,)),
    BadRequest("NUL in a chunk extension", _chunked(b"5;a\x00=b\r\n[1,2]\r\n0\r\n\r\n"), (400,)),
    BadRequest(
        "chunked body over the limit",
        _chunked(
            b"".join(b"%x\r\n" % 65536 + b"1" * 65536 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
        ),
        (413,),
        (),
        False,
    ),
    BadRequest(
        "body over the limit",
        _post(b"[" + b"1," * (_LIMIT // 2 + 10) + b"1]"),
        (413,),
        (),
        False,
    ),
    BadRequest(
        "declared over the limit with Expect: 100-continue",
        _raw_post(f"Content-Length: {2 * _LIMIT}\r\nExpect: 100-continue\r\n"),
        (413,),
    ),
    BadRequest(
        "body shorter than Content-Length", _raw_post("Content-Length: 100\r\n", b"[1"), (408,)
    ),
    BadRequest("slowloris: half a request line", b"GET /pi", (408,)),
    BadRequest("slowloris: headers never end", b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A: ", (408,)),
    BadRequest("slowloris: chunked body never ends", _chunked(b"5\r\n[1,2]\r\n"), (408,)),
    # ---------------------------------------------------------------- bodies
    BadRequest("invalid JSON", _post(b"[[1.0, 2.0"), (400,), (), False),
    BadRequest("empty JSON body", _post(b""), (400,), (), False),
    BadRequest("JSON object instead of an array", _post(b'{"a": 1}'), (400,), (), False),
    BadRequest("ragged JSON array", _post(b"[[1, 2], [3]]"), (400,), (), False),
    BadRequest("JSON strings", _post(b'[["a", "b"]]'), (400,), (), False),
    BadRequest("JSON null", _post(b"[[null, 1]]"), (400,), (), False),
    BadRequest("JSON NaN", _post(b"[[NaN, 1.0]]"), (400,), (), False),
    BadRequest("JSON Infinity", _post(b"[[Infinity, 1.0]]"), (400,), (), False),
    BadRequest("JSON -Infinity", _post(b"[[1.0, -Infinity]]"), (400,), (), False),
    BadRequest("JSON 1e400", _post(b"[[1e400, 1.0]]"), (400,), (), False),
    BadRequest("JSON beyond float32", _post(b"[[1e39, 1.0]]"), (400,), (), False),
    BadRequest("JSON huge integer", _post(b"[[" + b"9" * 400 + b", 1]]"), (400,), (), False),
    BadRequest(
        "JSON nested 100,000 deep", _post(b"[" * 100_000 + b"]" * 100_000), (400,), (), False
    ),
    BadRequest("JSON nested 40 deep", _post(b"[" * 40 + b"1" + b"]" * 40), (400,), (), False),
    BadRequest("JSON of the wrong width", _post(b"[[1.0, 2.0, 3.0]]"), (400,), (), False),
    BadRequest("invalid UTF-8 as JSON", _post(b"\xff\xfe[[1, 2]]"), (400,), (), False),
    BadRequest("CSV with a word", _post(b"1,two\n", "text/csv"), (400,), (), False),
    BadRequest("ragged CSV", _post(b"1,2\n3\n", "text/csv"), (400,), (), False),
    BadRequest("empty CSV", _post(b"\n\n", "text/csv"), (400,), (), False),
    BadRequest("CSV of the wrong width", _post(b"1,2,3\n", "text/csv"), (400,), (), False),
    BadRequest(
        "NPY with a bad magic",
        _post(b"NOTNPY" + b"\0" * 64, "application/x-npy"),
        (400,),
        (),
        False,
    ),
    BadRequest("truncated NPY", _post(_valid_npy()[:-4], "application/x-npy"), (400,), (), False),
    BadRequest(
        "NPY of Python objects (pickle)",
        _post(
            _npy(b"\x93NUMPY\x01\x00", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n")
            + b"\x80\x04\x95",
            "application/x-npy",
        ),
        (400,),
        (),
        False,
    ),
    BadRequest(
        "NPY with a code header",
        _post(_npy(b"\x93NUMPY\x01\x00", "__import__('os').system('true')\n"), "application/x-npy"),
        (400,),
        (),
        False,
    ),
    BadRequest(
        "NPY format version 9",
        _post(_npy(b"\x93NUMPY\x09\x00", "{}\n"), "application/x-npy"),
        (400,),
        (),
        False,
    ),
    BadRequest("unknown Content-Type", _post(b"<a/>", "application/xml"), (415,), (), False),
    BadRequest(
        "no Content-Type",
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n[[1.0, 2.0]]",
        (415,),
        (),
        False,
    ),
    BadRequest(
        "unknown Accept",
        _post(b"[[1.0, 2.0]]").replace(b"Accept: application/json", b"Accept: image/png"),
        (415,),
        (),
        False,
    ),
    BadRequest(
        "garbage Accept",
        _post(b"[[1.0, 2.0]]").replace(b"Accept: application/json", b"Accept: ;;,\x7f"),
        (400,),
    ),
    # ---------------------------------------------------------------- pipelining
    BadRequest("ping then garbage", _PING + b"GARBAGE\r\n\r\n", (400,), (200,)),
    BadRequest("two pings then garbage", _PING * 2 + b"\x00\x01\x02\r\n\r\n", (400,), (200, 200)),
    BadRequest("invocation then garbage", _JSON_OK + b"BAD REQUEST\r\n\r\n", (400,), (200,)),
    BadRequest(
        "invocation then an oversized head",
        _JSON_OK + _get("/ping", "X-Big: " + "c" * 100_000 + "\r\n"),
        (431,),
        (200,),
    ),
    BadRequest("ping then a bad body", _PING + _post(b"[[NaN]]"), (400,), (200,), False),
    # ---------------------------------------------------------------- other protocols
    BadRequest("TLS ClientHello", _TLS_HELLO, (400,)),
    BadRequest("SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n", (400,)),
    BadRequest("NUL bytes", b"\x00" * 256, (400,)),
    BadRequest("random binary", bytes(range(256)) * 4, (400,)),
)


_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


def _read_response(sock: socket.socket, buffer: bytearray, deadline: float) -> tuple[int, bytes]:
    while b"\r\n\r\n" not in buffer:
        _fill(sock, buffer, deadline)
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end])
    del buffer[: end + 4]
    match = _STATUS.match(head)
    if match is None:
        raise ValueError(f"not an HTTP response: {head[:80]!r}")
    status = int(match.group(1))
    if status == 100:
        return _read_response(sock, buffer, deadline)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    size = int(length.group(1)) if length else 0
    while len(buffer) < size:
        _fill(sock, buffer, deadline)
    body = bytes(buffer[:size])
    del buffer[:size]
    return status, body


def _fill(sock: socket.socket, buffer: bytearray, deadline: float) -> None:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    buffer += chunk


def send(case: BadRequest, port: int, timeout: float = 15.0) -> Answer:
    """Send ``case`` on a new connection to ``127.0.0.1:port`` and read the answers.

    ``closed`` tells whether the server closed the connection after them (waiting at most
    2 s for it when ``case.closes``).
    """
    answer = Answer()
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # Answered and closed before the whole payload was read: read the answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(case.payload)
        try:
            for _ in range(len(case.before) + 1):
                status, body = _read_response(sock, buffer, deadline)
                answer.statuses.append(status)
                answer.bodies.append(body)
            if case.closes:
                closing = min(deadline, time.monotonic() + 2.0)
                while True:
                    _fill(sock, buffer, closing)
        except TimeoutError:
            pass
        except (ConnectionError, OSError):
            answer.closed = True
    return answer
