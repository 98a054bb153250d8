"""The default handlers over real HTTP: every decoder and encoder, and each error status
with its reason, the server staying up after each."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from .support import Server, from_npy, json_body, npy, running_server, write_linear

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    model = write_linear(tmp_path_factory.mktemp("linear") / "model")
    with running_server(model, env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}) as running:
        yield running


def assert_alive(server: Server) -> None:
    assert server.process.poll() is None
    assert server.ping() == 200
    status, _, body = server.invoke(json_body([[1, 1]]), "application/json")
    assert (status, json.loads(body)) == (200, [[3.5]])


def error_message(body: bytes) -> str:
    return str(json.loads(body)["message"])


def test_ping_and_execution_parameters(server: Server) -> None:
    status, _, body = server.request("GET", "/ping")
    assert status == 200 and json.loads(body) == {"status": "Healthy"}
    status, _, body = server.request("GET", "/execution-parameters")
    assert status == 200
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 1,
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json_body([[1, 2], [3, 4]])),
        ("text/csv", b"1,2\n3,4\n"),
        ("application/x-npy", npy(np.array([[1, 2], [3, 4]], dtype=np.float32))),
    ],
)
@pytest.mark.parametrize("accept", ["application/json", "text/csv", "application/x-npy"])
def test_every_decoder_with_every_encoder(
    server: Server, content_type: str, body: bytes, accept: str
) -> None:
    status, headers, answer = server.invoke(body, content_type, accept)
    assert status == 200, answer
    assert headers["content-type"] == accept
    if accept == "application/json":
        assert answer == b"[[5.5], [11.5]]"
    elif accept == "text/csv":
        assert answer == b"5.5\n11.5\n"
    else:
        result = from_npy(answer)
        # The toolkit encodes tensor.tolist(): NPY answers are float64.
        assert result.dtype == np.float64 and result.tolist() == [[5.5], [11.5]]


def test_one_csv_row_is_one_dimensional_as_genfromtxt_makes_it(server: Server) -> None:
    status, _, answer = server.invoke(b"1,2", "text/csv", "text/csv")
    assert (status, answer) == (200, b"5.5\n")


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_missing_or_any_accept_uses_the_default_accept(server: Server, accept: str | None) -> None:
    status, headers, answer = server.invoke(json_body([[0, 0]]), "application/json", accept)
    assert (status, headers["content-type"], answer) == (200, "application/json", b"[[0.5]]")


def test_first_supported_type_of_accept_wins(server: Server) -> None:
    status, headers, answer = server.invoke(
        json_body([[0, 1]]), "application/json", "application/xml, text/csv, application/json"
    )
    assert (status, headers["content-type"], answer) == (200, "text/csv", b"2.5\n")


def test_npy_keeps_its_dtype_and_a_mismatch_is_a_400(server: Server) -> None:
    status, _, body = server.invoke(npy(np.array([[1.0, 2.0]])), "application/x-npy")
    assert status == 400
    assert "dtype float64" in error_message(body)
    assert_alive(server)


def test_unsupported_content_type_is_415_naming_the_supported_ones(server: Server) -> None:
    status, _, body = server.invoke(b"hello", "text/plain")
    assert status == 415
    message = error_message(body)
    assert "'text/plain'" in message
    assert "application/json, text/csv, application/x-npy" in message
    assert_alive(server)


def test_unsupported_accept_is_415(server: Server) -> None:
    status, _, body = server.invoke(json_body([[1, 2]]), "application/json", "image/png")
    assert status == 415
    assert "'image/png'" in error_message(body) and "text/csv" in error_message(body)
    assert_alive(server)


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/json", b"[[1, 2", "not valid JSON"),
        ("application/json", b"[[1, 2], [3]]", "rectangular"),
        ("application/json", b"\xff\xfe", "UTF-8"),
        ("text/csv", b"1,2\n3,x\n", "line 2"),
        ("text/csv", b"1,2\n3\n", "line 2 has 1 columns"),
        ("application/x-npy", b"not an npy body", "not an NPY array"),
        ("application/x-npy", npy(np.array([[1, 2]], dtype=np.float32))[:-3], "truncated"),
        ("application/json", json_body([[1, 2, 3]]), "shape (1, 3)"),
    ],
)
def test_undecodable_body_or_wrong_shape_is_400_with_the_reason(
    server: Server, content_type: str, body: bytes, reason: str
) -> None:
    status, _, answer = server.invoke(body, content_type)
    assert status == 400, answer
    assert reason in error_message(answer)
    assert_alive(server)


def test_npy_object_arrays_are_refused_not_unpickled(server: Server, tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    status, _, answer = server.invoke(buffer.getvalue(), "application/x-npy")
    assert status == 400
    assert "unpickling" in error_message(answer)
    assert_alive(server)


def test_body_over_the_payload_limit_is_413(server: Server) -> None:
    status, _, answer = server.invoke(b"[" + b"1," * 800_000 + b"1]", "application/json")
    assert status == 413
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" in error_message(answer)
    assert_alive(server)


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (b"1," * 100_000 for _ in range(8))
    connection.request(
        "POST",
        "/invocations",
        body=chunks,
        headers={"Content-Type": "text/csv"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    response.read()
    connection.close()
    assert_alive(server)


def test_routes_and_methods(server: Server) -> None:
    assert server.request("GET", "/nope")[0] == 404
    assert server.request("GET", "/invocations")[0] == 405
    assert_alive(server)


def test_malformed_http_is_400_and_the_connection_closes(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GARBAGE\x00 / HTTP/1.1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert_alive(server)


def test_keep_alive_and_pipelined_requests_answer_in_order(server: Server) -> None:
    requests = b"".join(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in (json_body([[i, 0]]) for i in range(5))
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(requests)
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 5 or not answer.endswith(b"]]"):
            answer += sock.recv(65536)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert [json.loads(b) for b in bodies] == [[[i + 0.5]] for i in range(5)]


def test_expect_100_continue(server: Server) -> None:
    body = json_body([[2, 2]])
    head = (
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b""
        while not answer.endswith(b"[[6.5]]"):
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        big = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        big += "Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n"
        sock.sendall(big.encode())
        refused = b""
        while chunk := sock.recv(4096):
            refused += chunk
    assert refused.startswith(b"HTTP/1.1 413") and b"SAGEMAKER_MAX_PAYLOAD_IN_MB" in refused
    assert_alive(server)
