"""Seed 004 (a PyTorch SageMaker deployment tutorial) against a named local endpoint.

The tutorial's toy model (``model/model.py``), its helper functions (``model/serve.py``),
its ``PyTorchModel(..., entry_point='model/serve.py', source_dir='.')`` and ``deploy`` run
as written (``sagemaker.pytorch`` -> ``sagepipe.pytorch``, ``instance_type="local"``), and its
``invoke_sagemaker_endpoint`` verbatim: boto3 reaches the local endpoint through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, which botocore honours, set to the local runtime's URL.
"""

from __future__ import annotations

import json
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import torch

import sagepipe.pytorch
from sagepipe.endpoints import runtime_url
from sagepipe.storage import get_storage

MODEL_PY = """
    import torch


    class SimpleModel(torch.nn.Module):
        def __init__(self):
            super(SimpleModel, self).__init__()
            self.fc = torch.nn.Linear(10, 2)

        def forward(self, x):
            x = self.fc(x)
            x = torch.nn.functional.softmax(x, dim=-1)
            return x

    def save_model(model: torch.nn.Module, save_path):
        torch.jit.script(model).save(save_path)

    def load_model(model_path):
        model = torch.jit.load(model_path)
        return model
"""

SERVE_PY = """
    from model.model import load_model
    import torch
    import os
    import json
    MODEL_FILE_NAME = 'model.pth'

    def model_fn(model_dir):
        model_path = os.path.join(model_dir, MODEL_FILE_NAME)
        model = load_model(model_path)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device)
        return model

    def input_fn(request_body, request_content_type):
        if request_content_type == 'application/json':
            data = json.loads(request_body)
            input_tensor = torch.tensor(data)
            return input_tensor
        else:
            raise ValueError(f"Unsupported content type: {request_content_type}")

    def predict_fn(input_data, model):
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        with torch.no_grad():
            input_data = input_data.to(device)
            predictions = model(input_data)
        return predictions

    def output_fn(prediction, response_content_type):
        if response_content_type == 'application/json':
            return prediction.cpu().numpy().tolist()
        else:
            raise ValueError(f"Unsupported content type: {response_content_type}")
"""


# fmt: off
def invoke_sagemaker_endpoint(endpoint_name, input_data):  # type: ignore[no-untyped-def]
    runtime = boto3.client('sagemaker-runtime')
    payload = json.dumps(input_data)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint_name,
        ContentType='application/json',
        Body=payload
    )
    result = json.loads(response['Body'].read().decode())
    return result
# fmt: on


@pytest.fixture
def forget_model_package() -> Iterator[None]:
    """The tutorial's package is called ``model``: forget it after the test."""
    yield
    for name in ("model", "model.model"):
        sys.modules.pop(name, None)


@pytest.mark.slow
@pytest.mark.usefixtures("forget_model_package")
def test_the_tutorials_deployment_and_client_code(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "__init__.py").write_text("")
    (project / "model" / "model.py").write_text(textwrap.dedent(MODEL_PY))
    (project / "model" / "serve.py").write_text(textwrap.dedent(SERVE_PY))
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    from model.model import SimpleModel, save_model

    # "Pushing the model to S3": the scripted model, compressed as a tarball.
    model = SimpleModel()
    save_model(model, str(tmp_path / "model.pth"))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model.pth", arcname="model.pth")
    model_uri = "s3://trained-models-artifacts/model.tar.gz"
    get_storage().put_file(str(tmp_path / "model.tar.gz"), model_uri)
    role_arn, torch_version, py_version = "arn:aws:iam::123456789012:role/Deploy", "2.1", "py310"
    endpoint_name, instance_type = "simple-model", "local"

    # fmt: off
    pytorch_model = sagepipe.pytorch.PyTorchModel(
            model_data=model_uri,
            role=role_arn,
            framework_version=torch_version,
            py_version=py_version,
            entry_point='model/serve.py',
            source_dir='.'
        )
    pytorch_model.deploy(
            endpoint_name=endpoint_name,
            instance_type=instance_type,
            initial_instance_count=1
        )
    # fmt: on

    # How a user points the tutorial's client at local endpoints (any credentials do).
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", str(runtime_url()))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    input_data = [[0.1 * i for i in range(10)], [1.0] * 10]
    result = invoke_sagemaker_endpoint(endpoint_name, input_data)

    expected = model(torch.tensor(input_data)).detach().numpy().tolist()
    assert len(result) == 2 and all(len(row) == 2 for row in result)
    for row, wanted in zip(result, expected, strict=True):
        assert row == pytest.approx(wanted, abs=1e-6)
        assert sum(row) == pytest.approx(1.0, abs=1e-6)
