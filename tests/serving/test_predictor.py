"""The client: Predictor round trips per serializer, the SageMaker endpoint request checked
against botocore's service model, and PyTorchModel.deploy / delete_endpoint."""

from __future__ import annotations

import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sagepipe
from sagepipe.errors import SagepipeError
from sagepipe.serving.deserializers import (
    BytesDeserializer,
    CSVDeserializer,
    JSONDeserializer,
    NumpyDeserializer,
    StringDeserializer,
)
from sagepipe.serving.errors import InvocationError
from sagepipe.serving.predictor import Predictor
from sagepipe.serving.serializers import (
    CSVSerializer,
    IdentitySerializer,
    JSONSerializer,
    NumpySerializer,
)

from .support import Server, running_server, write_code, write_linear


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    model = write_linear(tmp_path_factory.mktemp("predictor") / "model")
    with running_server(model) as running:
        yield running


@pytest.mark.slow
def test_default_predictor_is_npy_both_ways(server: Server) -> None:
    predictor = Predictor(server.url)
    assert predictor.content_type == "application/x-npy"
    assert predictor.accept == ("application/x-npy",)
    result = predictor.predict(np.array([[1, 2], [3, 4]], dtype=np.float32))
    assert isinstance(result, np.ndarray) and result.tolist() == [[5.5], [11.5]]
    assert NumpySerializer(dtype="float32").serialize([[1, 2]]) == NumpySerializer().serialize(
        np.array([[1, 2]], dtype=np.float32)
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("serializer", "deserializer", "data", "expected"),
    [
        (JSONSerializer(), JSONDeserializer(), [[1, 2]], [[5.5]]),
        (
            JSONSerializer(),
            NumpyDeserializer(accept="application/json"),
            np.array([[0, 1]]),
            [[2.5]],
        ),
        (CSVSerializer(), CSVDeserializer(), [[1, 2], [3, 4]], [["5.5"], ["11.5"]]),
        (CSVSerializer(), NumpyDeserializer(accept="text/csv"), np.array([[1, 2]]), 5.5),
        (NumpySerializer(dtype="float32"), NumpyDeserializer(), [[0, 0]], [[0.5]]),
        (IdentitySerializer("application/json"), BytesDeserializer(), b"[[1, 1]]", b"[[3.5]]"),
        (IdentitySerializer("text/csv"), StringDeserializer(accept="text/csv"), "2,2", "6.5\n"),
    ],
)
def test_round_trips(
    server: Server, serializer: object, deserializer: object, data: object, expected: object
) -> None:
    predictor = Predictor(server.url, serializer, deserializer)  # type: ignore[arg-type]
    result = predictor.predict(data)
    assert (result.tolist() if isinstance(result, np.ndarray) else result) == expected
    predictor.delete_endpoint()  # a plain URL: only closes the connection


@pytest.mark.slow
def test_errors_raise_invocation_error_with_the_message(server: Server) -> None:
    predictor = Predictor(server.url, JSONSerializer(), JSONDeserializer())
    with pytest.raises(InvocationError) as raised:
        predictor.predict([[1, 2, 3]])
    assert raised.value.status == 400 and "shape (1, 3)" in str(raised.value)


def test_endpoint_request_matches_botocore_service_model() -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model("InvokeEndpoint").input_shape
    predictor = Predictor("my-endpoint", CSVSerializer(), JSONDeserializer())
    args = predictor.invoke_endpoint_args(
        [[1, 2]], custom_attributes="trace=1", target_variant="v1", inference_id="id-1"
    )
    report = ParamValidator().validate(args, shape)
    assert not report.has_errors(), report.generate_report()
    assert args == {
        "EndpointName": "my-endpoint",
        "ContentType": "text/csv",
        "Accept": "application/json",
        "CustomAttributes": "trace=1",
        "TargetVariant": "v1",
        "InferenceId": "id-1",
        "Body": b"1,2",
    }
    default = Predictor("my-endpoint").invoke_endpoint_args(np.zeros((1, 2), dtype=np.float32))
    assert not ParamValidator().validate(default, shape).has_errors()
    assert (default["ContentType"], default["Accept"]) == ("application/x-npy", "application/x-npy")


def test_sagepipe_exports_the_client_lazily() -> None:
    assert sagepipe.Predictor is Predictor
    assert sagepipe.PyTorchModel.__name__ == "PyTorchModel"


@pytest.mark.slow
def test_deploy_and_delete_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sagepipe.endpoints import describe_endpoint

    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "home"))
    model = write_linear(tmp_path / "model")
    source = tmp_path / "source"
    source.mkdir()
    (source / "serve.py").write_text(
        "def output_fn(prediction, accept):\n    return str(prediction.tolist()), 'text/plain'\n"
    )
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model / "model.pt", arcname="model.pt")
    pytorch_model = sagepipe.PyTorchModel(
        model_data=str(archive),
        entry_point="serve.py",
        source_dir=str(source),
        framework_version="2.1.0",
        py_version="py310",
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
    )
    predictor = pytorch_model.deploy(
        instance_type="local",
        initial_instance_count=1,
        deserializer=StringDeserializer(accept="text/plain"),
    )
    url = describe_endpoint(predictor.endpoint_name).url
    assert url is not None
    port = int(url.rsplit(":", 1)[1])
    assert predictor.predict(np.array([[1, 1]], dtype=np.float32)) == "[[3.5]]"
    predictor.delete_endpoint()
    assert describe_endpoint(predictor.endpoint_name).status == "Deleted"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_deploy_rejects_remote_instance_types(tmp_path: Path) -> None:
    # ml.* deploys to SageMaker now (tests/pytorch/test_sagemaker_deploy.py); it needs a role.
    with pytest.raises(SagepipeError, match="needs role="):
        sagepipe.PyTorchModel(model_data=str(tmp_path)).deploy(instance_type="ml.m5.large")


@pytest.mark.slow
def test_deploy_reports_why_the_server_could_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "home"))
    write_code(
        tmp_path / "model", "def model_fn(model_dir):\n    raise ValueError('no weights here')\n"
    )
    with pytest.raises(SagepipeError, match="no weights here"):
        sagepipe.PyTorchModel(model_data=str(tmp_path / "model")).deploy(workers=1)
