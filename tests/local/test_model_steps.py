"""Model and packaging steps of sagepipe pipelines through the engine (compiled as for
SageMaker): the model record, the repacked archive, and packaging that keeps model members byte
for byte and adds code/. (The CreateModel call itself: tests/local/calls/test_model.py.)"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from sagepipe.config import PackagingConfig, PyTorchModelConfig
from sagepipe.local.errors import ModelNotFoundError
from sagepipe.local.store import RunStore
from sagepipe.pipeline import Step
from sagepipe.steps import PackagingStepBuilder, PyTorchModelStepBuilder
from sagepipe.storage import RoutedStorage, get_storage

from .calls.models import tar_gz
from .conftest import CodeFactory, Runner, by_name, output_uri

INFERENCE = "def model_fn(model_dir):\n    return None\n"
VERSIONS = {"framework_version": "2.1.0", "py_version": "py310"}
CPU_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        found: dict[str, bytes] = {}
        for info in tar:
            extracted = tar.extractfile(info) if info.isreg() else None
            if extracted is not None:
                found[info.name] = extracted.read()
        return found


def model_step(code: Path, model_uri: str, **config: object) -> Step:
    settings = {**VERSIONS, **config}
    model_config = PyTorchModelConfig(source_dir=str(code), **settings)
    return PyTorchModelStepBuilder(model_config).create_step(
        name="Model", inputs={"model_data": model_uri}
    )


def test_model_step_records_the_model(
    tmp_path: Path, make_code: CodeFactory, run: Runner, home: Path
) -> None:
    code = make_code("serve", **{"inference.py": INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"model.pth": b"weights", "config.json": b"{}"})
    step = model_step(code, str(archive), inference_instance_type="ml.m5.xlarge")

    outcome = run([step])

    record = by_name(outcome)["Model"]
    assert outcome.status == "Succeeded", record.failure_reason
    properties = record.properties
    name = properties["ModelName"]
    assert name == f"Model-{outcome.execution_id}"
    container = properties["PrimaryContainer"]
    assert container["Image"] == CPU_IMAGE
    # As the SDK repacks a PyTorchModel with entry_point, the model serves an archive holding
    # the original members byte for byte and the inference code under code/.
    repacked = container["ModelDataUrl"]
    # (the compiled pipeline's Model-RepackModel job wrote it, as SageMaker's would)
    assert repacked.endswith("/Model-RepackModel/output/packaged_model/model.tar.gz")
    local_copy = tmp_path / "repacked.tar.gz"
    get_storage(home=home).get_file(repacked, local_copy)
    with tarfile.open(local_copy) as tar:
        members = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
        contents = {name: f.read() for name, f in members.items() if f is not None}
    assert contents["model.pth"] == b"weights" and contents["config.json"] == b"{}"
    assert contents["code/inference.py"] == INFERENCE.encode()
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert properties["ModelArn"].endswith(f":model/{name.lower()}")
    store = RunStore.open(home)
    try:
        stored = store.model(name)
        assert (stored.image, stored.model_data_url) == (CPU_IMAGE, repacked)
        assert stored.environment == container["Environment"]
        with pytest.raises(ModelNotFoundError, match="no model 'nope'"):
            store.model("nope")
    finally:
        store.close()


def test_gpu_instance_gets_the_gpu_image(
    tmp_path: Path, make_code: CodeFactory, run: Runner
) -> None:
    code = make_code("serve", **{"inference.py": INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"model.pth": b"weights"})
    step = model_step(code, str(archive), inference_instance_type="ml.g5.xlarge")

    outcome = run([step])

    image = by_name(outcome)["Model"].properties["PrimaryContainer"]["Image"]
    assert image.endswith("pytorch-inference:2.1.0-gpu-py310")


def test_junk_is_ignored_with_a_warning(
    tmp_path: Path, make_code: CodeFactory, run: Runner
) -> None:
    code = make_code("serve", **{"inference.py": INFERENCE})
    archive = tar_gz(
        tmp_path / "model.tar.gz",
        {"model.pth": b"weights", "._model.pth": b"resource fork", ".DS_Store": b"finder"},
    )

    outcome = run([model_step(code, str(archive))])

    record = by_name(outcome)["Model"]
    assert outcome.status == "Succeeded", record.failure_reason
    assert any("._model.pth" in w and ".DS_Store" in w for w in record.warnings)
    assert "junk" in Path(record.log_path).read_text()


def test_missing_model_data_fails_naming_it(
    tmp_path: Path, make_code: CodeFactory, run: Runner
) -> None:
    code = make_code("serve", **{"inference.py": INFERENCE})

    outcome = run([model_step(code, "s3://sagepipe-local/nothing/model.tar.gz")])

    # The compiled repack job reads the archive first, and fails naming it.
    reason = by_name(outcome)["Model-RepackModel"].failure_reason or ""
    assert outcome.status == "Failed"
    assert "s3://sagepipe-local/nothing/model.tar.gz" in reason
    assert by_name(outcome)["Model"].status == "NotRun"


def test_packaging_keeps_model_members_and_adds_code(
    tmp_path: Path, make_code: CodeFactory, run: Runner, storage: RoutedStorage
) -> None:
    code = make_code(
        "serve",
        **{"inference.py": INFERENCE, "helper.py": "X = 1\n", "requirements.txt": "\n"},
    )
    extra = tmp_path / "shared_utils.py"
    extra.write_text("Y = 2\n")
    weights = hashlib.sha256(b"seed").digest() * 4096
    model_files = {"model.pth": weights, "nested/vocab.json": b'{"a": 1}'}
    archive = tar_gz(tmp_path / "model.tar.gz", {**model_files, "code/old.py": b"old"})
    model = model_step(code, str(archive))
    packaging = PackagingStepBuilder(
        PackagingConfig(source_dir=str(code), dependencies=[str(extra)], compression_level=1)
    ).create_step([model], name="Packaging")

    outcome = run([model, packaging])

    record = by_name(outcome)["Packaging"]
    assert outcome.status == "Succeeded", record.failure_reason
    prefix = output_uri(record, "packaged_model")
    assert (
        prefix
        == f"s3://sagepipe-local/test-pipeline/{outcome.execution_id}/Packaging/output/packaged_model"
    )
    packaged = tmp_path / "packaged.tar.gz"
    storage.get_file(f"{prefix}/model.tar.gz", packaged)
    found = members(packaged)
    assert {k: found[k] for k in model_files} == model_files
    assert found["code/inference.py"] == INFERENCE.encode()
    assert found["code/helper.py"] == b"X = 1\n"
    assert found["code/shared_utils.py"] == b"Y = 2\n"
    assert "code/old.py" not in found


def test_code_in_an_s3_sourcedir_is_repacked_into_the_model(
    tmp_path: Path, run: Runner, home: Path, storage: RoutedStorage
) -> None:
    # Seed 000's case: the model's code is the training job's sourcedir.tar.gz on S3; the
    # PyTorch inference container reads code/ of the model archive only.
    sourcedir = tar_gz(tmp_path / "sourcedir.tar.gz", {"inference.py": INFERENCE.encode()})
    storage.put_file(sourcedir, "s3://sagepipe-local/train/source/sourcedir.tar.gz")
    archive = tar_gz(tmp_path / "model.tar.gz", {"model.pth": b"weights"})
    settings = {**VERSIONS, "source_dir": "s3://sagepipe-local/train/source/sourcedir.tar.gz"}
    step = PyTorchModelStepBuilder(PyTorchModelConfig(**settings)).create_step(
        name="Model", inputs={"model_data": str(archive)}
    )

    outcome = run([step])

    record = by_name(outcome)["Model"]
    assert outcome.status == "Succeeded", record.failure_reason
    repacked = record.properties["PrimaryContainer"]["ModelDataUrl"]
    local_copy = tmp_path / "repacked.tar.gz"
    get_storage(home=home).get_file(repacked, local_copy)
    assert members(local_copy)["code/inference.py"] == INFERENCE.encode()
    assert members(local_copy)["model.pth"] == b"weights"
