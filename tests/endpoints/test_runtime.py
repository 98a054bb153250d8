"""The local SageMaker runtime: real boto3 ``invoke_endpoint`` against real local endpoints."""

from __future__ import annotations

import json
import socket
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sagepipe.endpoints import (
    DEFAULT_RUNTIME_PORT,
    EndpointError,
    create_endpoint,
    delete_endpoint,
    ensure_runtime,
    runtime_url,
    stop_runtime,
)
from sagepipe.endpoints.runtime import MAX_PAYLOAD_BYTES, endpoint_name
from sagepipe.endpoints.runtime_process import runtime_port

# Echoes the custom attributes back and fails on purpose for {"fail": STATUS}.
ATTRIBUTES_MODEL = """
    import json
    from sagepipe.serving.errors import InferenceError

    def model_fn(model_dir, context):
        return 3

    def input_fn(body, content_type, context):
        data = json.loads(body)
        if isinstance(data, dict):
            raise InferenceError(data["fail"], "asked to fail")
        return data

    def predict_fn(data, factor, context):
        return [x * factor for x in data]

    def output_fn(prediction, accept, context):
        attributes = context.custom_attributes or "none"
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "seen=" + attributes)
        context.set_response_content_type(0, "application/json")
        return json.dumps(prediction)
"""


def _client(url: str | None = None) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url or runtime_url(),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def attributes_model(tmp_path: Path) -> Path:
    model = tmp_path / "attributes"
    (model / "code").mkdir(parents=True)
    (model / "code" / "inference.py").write_text(textwrap.dedent(ATTRIBUTES_MODEL))
    return model


@pytest.mark.slow
def test_boto3_invokes_a_named_local_endpoint_with_sagemakers_headers(
    home: Path, attributes_model: Path
) -> None:
    record = create_endpoint("tripler", str(attributes_model), workers=1)
    url = runtime_url()
    assert url is not None and url != record.url
    response = _client().invoke_endpoint(
        EndpointName="tripler",
        ContentType="application/json",
        Accept="application/json",
        CustomAttributes="trace=42",
        TargetVariant="AllTraffic",
        InferenceId="request-1",
        Body=json.dumps([1, 2]),
    )
    assert json.loads(response["Body"].read()) == [3, 6]
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["CustomAttributes"] == "seen=trace=42"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.slow
def test_errors_have_sagemaker_runtimes_shapes(home: Path, attributes_model: Path) -> None:
    create_endpoint("tripler", str(attributes_model), workers=1)
    client = _client()

    with pytest.raises(client.exceptions.ValidationError) as missing:
        client.invoke_endpoint(EndpointName="nope", ContentType="application/json", Body=b"[1]")
    error = missing.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == "Endpoint nope of account 000000000000 not found."

    with pytest.raises(client.exceptions.ModelError) as failed:
        client.invoke_endpoint(
            EndpointName="tripler", ContentType="application/json", Body=b'{"fail": 422}'
        )
    error = failed.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 422
    assert "asked to fail" in error["OriginalMessage"]
    assert error["Error"]["Message"].startswith("Received client error (422) from primary")

    with pytest.raises(client.exceptions.ModelError) as crashed:
        client.invoke_endpoint(
            EndpointName="tripler", ContentType="application/json", Body=b"not json"
        )
    assert crashed.value.response["OriginalStatusCode"] == 500
    assert "Received server error (500)" in crashed.value.response["Error"]["Message"]

    for extra, header in (
        ({"TargetModel": "other.tar.gz"}, "X-Amzn-SageMaker-Target-Model"),
        ({"TargetContainerHostname": "c2"}, "X-Amzn-SageMaker-Target-Container-Hostname"),
        ({"InferenceComponentName": "ic"}, "X-Amzn-SageMaker-Inference-Component"),
    ):
        with pytest.raises(client.exceptions.ValidationError, match=header):
            client.invoke_endpoint(
                EndpointName="tripler", ContentType="application/json", Body=b"[1]", **extra
            )
    with pytest.raises(client.exceptions.ValidationError, match="only variant is AllTraffic"):
        client.invoke_endpoint(
            EndpointName="tripler", ContentType="application/json", Body=b"[1]", TargetVariant="b"
        )

    # The runtime keeps serving after every error.
    answer = client.invoke_endpoint(
        EndpointName="tripler", ContentType="application/json", Body=b"[5]"
    )
    assert json.loads(answer["Body"].read()) == [15]

    delete_endpoint("tripler")
    assert runtime_url() is None  # stopped with the last endpoint


@pytest.mark.slow
def test_the_env_var_botocore_honours_and_a_deleted_endpoint(
    home: Path, attributes_model: Path, doubler: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_endpoint("tripler", str(attributes_model), workers=1)
    create_endpoint("doubler", str(doubler), workers=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", str(runtime_url()))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    runtime = boto3.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="doubler", ContentType="application/json", Body=b"[4]"
    )
    assert json.loads(answer["Body"].read()) == [8]

    delete_endpoint("doubler")
    assert runtime_url() is not None  # tripler still serves
    with pytest.raises(ClientError, match="Endpoint doubler of account 000000000000 not found"):
        runtime.invoke_endpoint(EndpointName="doubler", ContentType="application/json", Body=b"[")


@pytest.mark.slow
def test_unknown_routes_and_oversized_bodies_are_refused(home: Path) -> None:
    url = ensure_runtime()
    try:
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(f"{url}/invocations", data=b"[1]", timeout=10)
        assert unknown.value.code == 404
        assert unknown.value.headers["x-amzn-ErrorType"].startswith("UnknownOperationException")

        request = urllib.request.Request(
            f"{url}/endpoints/x/invocations",
            data=b"x" * (MAX_PAYLOAD_BYTES + 1),
            headers={"Content-Type": "application/octet-stream"},
        )
        with pytest.raises(urllib.error.HTTPError) as large:
            urllib.request.urlopen(request, timeout=10)
        assert large.value.code == 413
        assert "6 MB" in json.loads(large.value.read())["message"]
        assert ensure_runtime() == url  # the same runtime, still serving
    finally:
        assert stop_runtime()


def test_a_taken_port_names_the_variable_that_picks_another(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("SAGEPIPE_RUNTIME_PORT", str(taken.getsockname()[1]))
        with pytest.raises(EndpointError, match="set SAGEPIPE_RUNTIME_PORT to a free port"):
            ensure_runtime()
    assert runtime_url() is None


def test_the_port_comes_from_the_environment() -> None:
    assert runtime_port({}) == DEFAULT_RUNTIME_PORT == 8089
    assert runtime_port({"SAGEPIPE_RUNTIME_PORT": "9000"}) == 9000
    with pytest.raises(EndpointError, match="SAGEPIPE_RUNTIME_PORT='http' is not a port"):
        runtime_port({"SAGEPIPE_RUNTIME_PORT": "http"})


def test_endpoint_names_come_from_invoke_endpoints_path() -> None:
    assert endpoint_name("/endpoints/my-model/invocations") == "my-model"
    assert endpoint_name("/endpoints/my%2Dmodel/invocations?x=1") == "my-model"
    assert endpoint_name("/invocations") is None
    assert endpoint_name("/endpoints//invocations") is None
    assert endpoint_name("/endpoints/a/b/invocations") is None


@pytest.mark.slow
def test_an_endpoint_that_fails_to_start_leaves_no_runtime(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "code").mkdir(parents=True)
    (broken / "code" / "inference.py").write_text(
        "def model_fn(model_dir):\n    raise RuntimeError('cannot load')\n"
    )
    with pytest.raises(EndpointError, match="cannot load"):
        create_endpoint("broken", str(broken), workers=1, startup_timeout_s=60)
    assert runtime_url() is None
    with pytest.raises(ClientError, match="Endpoint broken of account"):
        # A runtime started later reports the failed endpoint as SageMaker reports it.
        _client(ensure_runtime()).invoke_endpoint(
            EndpointName="broken", ContentType="application/json", Body=b"[1]"
        )
    stop_runtime()


def test_the_runtime_stops_itself_once_no_endpoint_is_left(home: Path) -> None:
    import threading

    from sagepipe.endpoints.runtime import RuntimeServer, _stop_when_idle

    home.mkdir(parents=True)
    server = RuntimeServer(home, "127.0.0.1", 0)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        assert not server.has_live_endpoints()
        _stop_when_idle(server, 0.05)  # returns once it has shut the server down
        serving.join(timeout=10)
        assert not serving.is_alive()
    finally:
        if serving.is_alive():
            server.shutdown()
        server.server_close()


def test_a_taken_default_port_means_a_free_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sagepipe.endpoints import runtime_process

    with socket.socket() as taken:  # another home's runtime, say
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.delenv("SAGEPIPE_RUNTIME_PORT")
        monkeypatch.setattr(runtime_process, "DEFAULT_RUNTIME_PORT", port)
        url = ensure_runtime()
        try:
            assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{port}")
            assert runtime_url() == url
        finally:
            assert stop_runtime()


def test_stop_signals_only_the_recorded_runtime(home: Path) -> None:
    import subprocess
    import sys

    # The runtime exited when idle and its pid now names another process: left alone.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (home / "endpoints").mkdir(parents=True)
        state = {"pid": other.pid, "start_time": 1, "url": "http://127.0.0.1:9"}
        (home / "endpoints" / "runtime.json").write_text(json.dumps(state))
        assert runtime_url() is None
        assert stop_runtime() is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_model_slower_than_sagemakers_timeout_is_a_model_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import threading
    import time

    from sagepipe.endpoints import runtime
    from sagepipe.endpoints.store import IN_SERVICE, EndpointRecord, EndpointStore

    monkeypatch.setattr(runtime, "MODEL_TIMEOUT_S", 0.5)
    # The endpoint's "server process" (the home fixture stops it afterwards).
    server_process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with socket.socket() as silent:  # accepts the request and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        home.mkdir(parents=True)
        record = EndpointRecord(
            name="slow", model="m", url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            pid=server_process.pid, status=IN_SERVICE, log_path=str(home / "slow.log"),
            environment={}, failure_reason=None, created_at=time.time(), updated_at=time.time(),
        )  # fmt: skip
        with EndpointStore(home) as store:
            store.put(record)
        server = runtime.RuntimeServer(home, "127.0.0.1", 0)
        serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        serving.start()
        try:
            client = _client(f"http://127.0.0.1:{server.server_address[1]}")
            with pytest.raises(client.exceptions.ModelError, match="timed out") as slow:
                client.invoke_endpoint(
                    EndpointName="slow", ContentType="application/json", Body=b"[1]"
                )
            assert slow.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
            # Not retried by botocore: the model saw the request once.
            assert slow.value.response["ResponseMetadata"]["RetryAttempts"] == 0
        finally:
            server.shutdown()
            server.server_close()
            serving.join(timeout=10)
            server_process.kill()
            server_process.wait()
