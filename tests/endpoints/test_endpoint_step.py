"""The pipeline's endpoint step through the local engine: a named endpoint serving the model
that the model step created."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import urllib.request
from pathlib import Path

import pytest

from sagepipe.cli.local_compile import compile_for_local
from sagepipe.config import EndpointConfig, PyTorchModelConfig
from sagepipe.endpoints import IN_SERVICE, describe_endpoint
from sagepipe.local.engine import RunOptions, run_definition
from sagepipe.pipeline import Pipeline
from sagepipe.steps import EndpointStepBuilder, PyTorchModelStepBuilder
from sagepipe.storage import get_storage

from .conftest import DOUBLER


def _archive(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("weights.json")
        data = b"{}"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.slow
def test_endpoint_step_serves_the_model_step_model(home: Path, tmp_path: Path) -> None:
    code = tmp_path / "serve"
    code.mkdir()
    (code / "inference.py").write_text(textwrap.dedent(DOUBLER))
    model = PyTorchModelStepBuilder(
        PyTorchModelConfig(source_dir=str(code), framework_version="2.1.0", py_version="py310")
    ).create_step(name="Model", inputs={"model_data": str(_archive(tmp_path / "m.tar.gz"))})
    endpoint = EndpointStepBuilder(EndpointConfig(endpoint_name="step-endpoint")).create_step(
        [model], name="Endpoint"
    )
    pipeline = Pipeline("endpoint-pipeline", [model, endpoint], root=tmp_path)

    _, definition = compile_for_local(pipeline, get_storage("local", home))
    outcome = run_definition(definition, {}, RunOptions(home=home), name=pipeline.name)

    steps = {step.name: step for step in outcome.steps}
    assert outcome.status == "Succeeded", steps["Endpoint"].failure_reason
    properties = steps["Endpoint"].properties
    assert properties is not None and properties["EndpointName"] == "step-endpoint"
    record = describe_endpoint("step-endpoint", home)
    assert record.status == IN_SERVICE and record.url is not None
    request = urllib.request.Request(
        f"{record.url}/invocations",
        data=b"[1, 2]",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read()) == [2, 4]
