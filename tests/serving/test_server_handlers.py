"""User handlers over real HTTP: with and without ``context``, bytes / str / tuple outputs,
handler errors (500 with the message, or the status of an InferenceError), custom
attributes, and ``model_fn`` running once per worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import Server, json_body, running_server, write_code, write_linear

pytestmark = pytest.mark.slow

HANDLERS = """
    import json
    import os

    import torch

    from sagepipe.serving.errors import InferenceError


    def model_fn(model_dir, context):
        with open(os.environ["PID_FILE"], "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        model = torch.jit.load(os.path.join(model_dir, "model.pt"))
        return {"net": model, "properties": dict(context.system_properties)}


    def input_fn(request_body, content_type):
        if content_type == "application/x-teapot":
            raise InferenceError(418, "I am a teapot")
        if content_type == "application/x-boom":
            raise ValueError("input exploded")
        text = request_body if isinstance(request_body, str) else request_body.decode()
        return {"received": type(request_body).__name__, **json.loads(text)}


    def predict_fn(data, model, context):
        attributes = context.custom_attributes
        if attributes:
            name = "X-Amzn-SageMaker-Custom-Attributes"
            context.set_response_header(0, name, "echo=" + attributes)
        with torch.no_grad():
            y = model["net"](torch.tensor(data.get("x", [[0.0, 0.0]]))).tolist()
        return {
            "data": data,
            "y": y,
            "attributes": attributes,
            "properties": model["properties"],
            "header": context.get_request_header(0, "x-extra"),
        }


    def output_fn(prediction, accept):
        kind = prediction["data"].get("kind")
        if kind == "bytes":
            return b"raw-bytes"
        if kind == "str":
            return "plain-str"
        if kind == "tuple":
            return json.dumps(prediction), "application/vnd.sagepipe+json"
        if kind == "crash":
            raise RuntimeError("output exploded")
        return json.dumps(prediction)
"""


@pytest.fixture(scope="module")
def pid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pids") / "model_fn.pids"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pid_file: Path) -> Iterator[Server]:
    model = write_linear(tmp_path_factory.mktemp("handlers") / "model")
    write_code(model, HANDLERS)
    with running_server(model, workers=2, env={"PID_FILE": str(pid_file)}) as running:
        yield running


def test_model_fn_runs_once_per_worker(server: Server, pid_file: Path) -> None:
    for _ in range(20):
        assert server.invoke(json_body({}), "application/json")[0] == 200
    pids = pid_file.read_text().split()
    assert len(pids) == 2 and len(set(pids)) == 2


def test_handlers_with_and_without_context(server: Server) -> None:
    status, headers, body = server.invoke(
        json_body({"x": [[1.0, 1.0]]}), "application/json", "application/json", x_extra="hello"
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["y"] == [[3.5]]
    # JSON and CSV bodies reach input_fn decoded, other types as bytes (as the toolkit).
    assert answer["data"]["received"] == "str"
    assert answer["header"] == "hello"
    properties = answer["properties"]
    assert properties["gpu_id"] is None and properties["batch_size"] == 1
    assert Path(properties["model_dir"]).joinpath("model.pt").is_file()
    assert headers["content-type"] == "application/json"


def test_other_content_types_reach_input_fn_as_bytes(server: Server) -> None:
    status, _, body = server.invoke(json_body({}), "application/x-custom")
    assert status == 200 and json.loads(body)["data"]["received"] == "bytes"


def test_custom_attributes_reach_the_context_and_come_back(server: Server) -> None:
    status, headers, body = server.invoke(
        json_body({}), "application/json", X_Amzn_SageMaker_Custom_Attributes="trace=42"
    )
    assert status == 200
    assert json.loads(body)["attributes"] == "trace=42"
    assert headers["x-amzn-sagemaker-custom-attributes"] == "echo=trace=42"


@pytest.mark.parametrize(
    ("kind", "content_type", "expected"),
    [
        ("bytes", "application/json", b"raw-bytes"),
        ("str", "application/json", b"plain-str"),
        ("tuple", "application/vnd.sagepipe+json", None),
    ],
)
def test_output_fn_may_return_bytes_str_or_a_tuple(
    server: Server, kind: str, content_type: str, expected: bytes | None
) -> None:
    status, headers, body = server.invoke(json_body({"kind": kind}), "application/json")
    assert status == 200
    assert headers["content-type"] == content_type
    if expected is not None:
        assert body == expected
    else:
        assert json.loads(body)["data"]["kind"] == "tuple"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("application/x-boom", b"{}", 500, "input_fn raised ValueError: input exploded"),
        (
            "application/json",
            json_body({"kind": "crash"}),
            500,
            "output_fn raised RuntimeError: output exploded",
        ),
        ("application/json", json_body({"x": [[1.0]]}), 500, "predict_fn raised RuntimeError"),
        ("application/x-teapot", b"{}", 418, "I am a teapot"),
    ],
)
def test_handler_errors_answer_with_their_message_and_the_server_keeps_serving(
    server: Server, content_type: str, body: bytes, status: int, message: str
) -> None:
    answer_status, _, answer = server.invoke(body, content_type)
    assert answer_status == status
    assert json.loads(answer)["message"].startswith(message)
    assert server.invoke(json_body({}), "application/json")[0] == 200
    assert server.process.poll() is None


def test_handler_tracebacks_are_logged(server: Server) -> None:
    server.invoke(b"{}", "application/x-boom")
    server.wait_healthy()
    assert "Traceback" in server.log and "input exploded" in server.log
