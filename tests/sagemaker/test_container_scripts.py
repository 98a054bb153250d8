"""sagepipe's own container scripts, run from their compiled bundles as SageMaker would."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.payload import generate_payloads
from sagepipe.config import ModelHyperparameters, PayloadConfig
from sagepipe.sagemaker import CompiledPipeline

from .conftest import step_named


def unpack_code_input(compiled: CompiledPipeline, step: str, target: Path) -> Path:
    """Lay the step's ``code`` input out as SageMaker downloads it (one file per object)."""
    arguments = step_named(compiled, step)["Arguments"]
    assert isinstance(arguments, dict)
    code = next(i for i in arguments["ProcessingInputs"] if i["InputName"] == "code")
    upload = next(u for u in compiled.uploads if u.uri == code["S3Input"]["S3Uri"])
    for item in upload.bundle.files:
        path = target / item.arcname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.bundle.content(item))
    return target


def model_archive(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, as in the container: no sagepipe, no user site, no PYTHONPATH.
    return subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


HYPERPARAMETERS = {
    "id_name": "id",
    "label_name": "label",
    "full_field_list": ["id", "label", "x1", "city", "x2"],
    "tab_field_list": ["x1", "x2"],
    "cat_field_list": ["city"],
}


def test_packaging_adds_the_inference_code(
    compiled_example: CompiledPipeline, tmp_path: Path
) -> None:
    code = unpack_code_input(compiled_example, "packaging", tmp_path / "code")
    model_archive(
        tmp_path / "input" / "model" / "model.tar.gz",
        {
            "model.pth": b"weights",
            "hyperparameters.json": json.dumps(HYPERPARAMETERS).encode(),
            "code/old.py": b"stale",
        },
    )
    done = run(
        code / "package_model.py",
        "--model-dir",
        str(tmp_path / "input" / "model"),
        "--output-dir",
        str(tmp_path / "output"),
    )
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / "output" / "model.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"model.pth", "hyperparameters.json", "code/inference.py"} <= names
    assert "code/helpers/columns.py" in names
    assert "code/old.py" not in names


def test_packaging_rejects_unsafe_members(
    compiled_example: CompiledPipeline, tmp_path: Path
) -> None:
    code = unpack_code_input(compiled_example, "packaging", tmp_path / "code")
    model_archive(tmp_path / "model" / "model.tar.gz", {"../escape.txt": b"x"})
    done = run(
        code / "package_model.py",
        "--model-dir",
        str(tmp_path / "model"),
        "--output-dir",
        str(tmp_path / "output"),
    )
    assert done.returncode == 1
    assert "unsafe path" in done.stderr


@pytest.mark.parametrize("damage", ["crc", "truncated"])
def test_packaging_refuses_a_corrupt_input_and_leaves_no_output(
    compiled_example: CompiledPipeline, tmp_path: Path, damage: str
) -> None:
    code = unpack_code_input(compiled_example, "packaging", tmp_path / "code")
    archive = model_archive(tmp_path / "model" / "model.tar.gz", {"model.pth": b"w" * 100_000})
    data = bytearray(archive.read_bytes())
    if damage == "crc":
        data[-8] ^= 0x01  # the trailer's CRC-32: the deflate data still decodes
    else:
        del data[len(data) // 2 :]
    archive.write_bytes(bytes(data))
    done = run(
        code / "package_model.py",
        "--model-dir",
        str(tmp_path / "model"),
        "--output-dir",
        str(tmp_path / "output"),
    )
    assert done.returncode == 1
    assert str(archive) in done.stderr or "model.tar.gz" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "output" / "model.tar.gz").exists()


@pytest.mark.parametrize("damage", ["crc", "truncated"])
def test_payload_refuses_a_corrupt_model_archive(
    compiled_example: CompiledPipeline, tmp_path: Path, damage: str
) -> None:
    code = unpack_code_input(compiled_example, "payload", tmp_path / "code")
    archive = model_archive(
        tmp_path / "model" / "model.tar.gz",
        {
            "hyperparameters.json": json.dumps(HYPERPARAMETERS).encode(),
            "model.pth": bytes(range(256)) * 400,
        },
    )
    data = bytearray(archive.read_bytes())
    if damage == "crc":
        data[-8] ^= 0x01  # the trailer's CRC-32: hyperparameters.json still reads fine
    else:
        del data[len(data) * 3 // 4 :]
    archive.write_bytes(bytes(data))
    done = run(
        code / "make_payload.py",
        "--model-dir",
        str(tmp_path / "model"),
        "--output-dir",
        str(tmp_path / "output"),
    )
    assert done.returncode == 1
    assert done.stderr.startswith("payload: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "output" / "payload.tar.gz").exists()


@pytest.mark.parametrize("with_hyperparameters", [True, False])
def test_payload_samples_follow_the_field_order(
    compiled_example: CompiledPipeline, tmp_path: Path, with_hyperparameters: bool
) -> None:
    code = unpack_code_input(compiled_example, "payload", tmp_path / "code")
    members = {"model.pth": b"weights"}
    if with_hyperparameters:
        members["hyperparameters.json"] = json.dumps(HYPERPARAMETERS).encode()
    model_archive(tmp_path / "model" / "model.tar.gz", members)
    done = run(
        code / "make_payload.py",
        "--model-dir",
        str(tmp_path / "model"),
        "--output-dir",
        str(tmp_path / "output"),
    )
    if not with_hyperparameters:
        # The example's payload config gives no field lists to fall back on.
        assert done.returncode == 1
        assert "no hyperparameters.json" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / "output" / "payload.tar.gz") as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    # SageMaker gets exactly the samples a local run makes (sagepipe.artifacts.payload).
    settings = json.loads((code / "sagepipe_payload.json").read_text())
    local = generate_payloads(
        ModelHyperparameters(**HYPERPARAMETERS),
        PayloadConfig(**{k: v for k, v in settings.items() if k != "hyperparameters"}),
        tmp_path / "local",
    )
    with tarfile.open(tmp_path / "local" / "payload.tar.gz") as archive:
        expected = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    assert files == expected
    assert (tmp_path / "output" / "manifest.json").read_bytes() == expected["manifest.json"]
    assert [s.content_type for s in local.samples] == settings["content_types"]
    assert files["payload_text_csv.csv"] == b"sample-1,0.0,DEFAULT_TEXT,0.0\n"
    assert json.loads(files["payload_json.json"]) == [
        {"id": "sample-1", "x1": 0.0, "city": "DEFAULT_TEXT", "x2": 0.0}
    ]
