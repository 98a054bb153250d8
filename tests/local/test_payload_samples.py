"""User-supplied sample payloads through the engine: packaging -> payload -> registration of a
non-tabular model (a Linear(3 -> 1) whose inference reads a JSON list of floats or an NPY
array), the smoke test sending each user file, and its failures naming the file."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sagepipe.config import PackagingConfig, PayloadConfig, RegistrationConfig
from sagepipe.pipeline import Step
from sagepipe.registry import LocalRegistry
from sagepipe.steps import PackagingStepBuilder, PayloadStepBuilder, RegistrationStepBuilder
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, by_name, output_uri

LINEAR_INFERENCE = """
import io
import json

import numpy
import torch


def model_fn(model_dir):
    model = torch.nn.Linear(3, 1)
    model.load_state_dict(torch.load(f"{model_dir}/model.pth", weights_only=True))
    return model.eval()


def input_fn(body, content_type):
    if content_type == "application/json":
        values = json.loads(body)
    elif content_type == "application/x-npy":
        values = numpy.load(io.BytesIO(body), allow_pickle=False).tolist()
    else:
        raise ValueError(f"unsupported content type {content_type}")
    tensor = torch.tensor(values, dtype=torch.float32)
    if tensor.shape[-1] != 3:
        raise ValueError(f"expected 3 features per row, got shape {tuple(tensor.shape)}")
    return tensor.reshape(-1, 3)


def predict_fn(data, model):
    with torch.no_grad():
        return model(data)


def output_fn(prediction, accept):
    return json.dumps(prediction.tolist())
"""


@pytest.fixture
def linear_model(tmp_path: Path) -> Path:
    """A model.tar.gz with the state dict of a Linear(3 -> 1) and no hyperparameters.json."""
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(3, 1).state_dict(), buffer)
    archive = tmp_path / "linear" / "model.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("model.pth")
        info.size = len(buffer.getvalue())
        tar.addfile(info, io.BytesIO(buffer.getvalue()))
    return archive


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A directory of good samples: a JSON row and an NPY batch of two rows."""
    root = tmp_path / "samples"
    root.mkdir()
    (root / "one_row.json").write_text("[0.5, 1.5, -2.0]\n")
    np.save(root / "two_rows.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    return root


def chain(model: Path, code: Path, payload: PayloadConfig, group: str) -> list[Step]:
    packaging = PackagingStepBuilder(PackagingConfig(source_dir=str(code))).create_step(
        name="Packaging", inputs={"model_input": str(model)}
    )
    sample = PayloadStepBuilder(payload).create_step([packaging], name="Payload")
    registration = RegistrationStepBuilder(
        RegistrationConfig(
            framework_version="2.1.0",
            py_version="py310",
            model_package_group_name=group,
            content_types=["application/json", "application/x-npy"],
        )
    ).create_steps([packaging, sample], name="Registration")
    return [packaging, sample, *registration]


def test_user_samples_pass_the_smoke_test_and_register(
    linear_model: Path,
    samples: Path,
    make_code: CodeFactory,
    run: Runner,
    home: Path,
    storage: RoutedStorage,
    tmp_path: Path,
) -> None:
    code = make_code("linear", **{"inference.py": LINEAR_INFERENCE})
    remote = tmp_path / "remote.json"
    remote.write_text("[1, 2, 3]")
    storage.put_file(remote, "s3://team-bucket/requests/row.json")
    payload = PayloadConfig(
        samples=[str(samples), "s3://team-bucket/requests/row.json"],
    )

    outcome = run(chain(linear_model, code, payload, "linear"))

    records = by_name(outcome)
    registration = records["Registration"]
    assert outcome.status == "Succeeded", registration.failure_reason
    prefix = output_uri(records["Payload"], "payload_sample")
    manifest = json.loads(storage.open_read(f"{prefix}/manifest.json").read())
    assert manifest["samples"] == [
        {
            "content_type": "application/json",
            "file": "samples/one_row.json",
            "records": None,
            "fields": [],
            "source": "one_row.json",
        },
        {
            "content_type": "application/x-npy",
            "file": "samples/two_rows.npy",
            "records": None,
            "fields": [],
            "source": "two_rows.npy",
        },
        {
            "content_type": "application/json",
            "file": "samples/row.json",
            "records": None,
            "fields": [],
            "source": "s3://team-bucket/requests/row.json",
        },
    ]
    archive = tmp_path / "payload.tar.gz"
    archive.write_bytes(storage.open_read(f"{prefix}/payload.tar.gz").read())
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    assert members["samples/two_rows.npy"] == (samples / "two_rows.npy").read_bytes()
    assert members["samples/row.json"] == b"[1, 2, 3]"
    log = Path(registration.log_path).read_text()
    for name in ("one_row.json", "two_rows.npy", "s3://team-bucket/requests/row.json"):
        assert f"the sample file {name} of {prefix}/payload.tar.gz was answered" in log
    package = LocalRegistry(home / "registry.db").describe(
        registration.properties["ModelPackageArn"]
    )
    assert package.sample_payload_url == f"{prefix}/payload.tar.gz"


def test_a_sample_the_model_refuses_fails_the_smoke_test_naming_the_file(
    linear_model: Path, make_code: CodeFactory, run: Runner, home: Path, tmp_path: Path
) -> None:
    code = make_code("linear", **{"inference.py": LINEAR_INFERENCE})
    good = tmp_path / "good.json"
    good.write_text("[0.0, 0.0, 0.0]")
    wrong = tmp_path / "two_features.json"
    wrong.write_text("[1.0, 2.0]")  # valid JSON, but the model takes 3 features

    outcome = run(chain(linear_model, code, PayloadConfig(samples=[good, wrong]), "linear"))

    registration = by_name(outcome)["Registration"]
    assert outcome.status == "Failed"
    reason = registration.failure_reason
    assert "smoke test: the sample file two_features.json of s3://" in reason
    assert "Content-Type application/json" in reason
    assert "expected 3 features per row, got shape (2,)" in reason
    assert "the sample file good.json" in Path(registration.log_path).read_text()
    assert LocalRegistry(home / "registry.db").list_groups() == []


def test_a_bad_sample_on_s3_fails_the_payload_step_naming_it(
    linear_model: Path,
    make_code: CodeFactory,
    run: Runner,
    storage: RoutedStorage,
    tmp_path: Path,
) -> None:
    # An s3:// sample is checked by the payload job (its file only exists when the job runs).
    code = make_code("linear", **{"inference.py": LINEAR_INFERENCE})
    bad = tmp_path / "cut.npy"
    np.save(bad, np.ones((4, 3), dtype=np.float64))
    bad.write_bytes(bad.read_bytes()[:-8])
    storage.put_file(bad, "s3://team-bucket/requests/cut.npy")
    payload = PayloadConfig(samples=["s3://team-bucket/requests/"])

    outcome = run(chain(linear_model, code, payload, "linear"))

    step = by_name(outcome)["Payload"]
    assert step.status == "Failed"
    assert "sample s3://team-bucket/requests/cut.npy" in step.failure_reason
    assert "(96 bytes of data) but the file holds 88" in step.failure_reason
    assert by_name(outcome)["Registration"].status == "NotRun"
