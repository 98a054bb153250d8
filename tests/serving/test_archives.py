"""MODEL sources: model.tar.gz, directories, s3:// URIs; malicious archives are rejected
with nothing written outside the target."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.safety import UnsafeArchiveError
from sagepipe.serving.errors import ModelSourceError
from sagepipe.serving.model_source import prepare_model

from .support import json_body, running_server, write_code, write_linear


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_member(
    name: str, target: str, kind: bytes = tarfile.SYMTYPE
) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def device_member(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info, None


MALICIOUS = {
    "dotdot": [file_member("model.pt"), file_member("../escaped.txt")],
    "absolute": [file_member("/tmp/sagepipe-absolute-escape.txt")],
    "nested-dotdot": [file_member("code/../../escaped.txt")],
    "symlink-out": [link_member("code", "../outside"), file_member("code/inference.py")],
    "hardlink-out": [link_member("passwd", "../../etc/passwd", tarfile.LNKTYPE)],
    "device": [device_member("null")],
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_malicious_archives_are_rejected_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    archive = make_tar(tmp_path / "model.tar.gz", MALICIOUS[name])
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(UnsafeArchiveError):
        prepare_model(str(archive), work, {})
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    new = [p for p in after if p not in before]
    assert all(str(p).startswith("deep/work/model") for p in new), new
    assert not any((work / "model").rglob("*"))
    assert not Path("/tmp/sagepipe-absolute-escape.txt").exists()


def test_serve_rejects_a_malicious_archive_with_one_line(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "model.tar.gz", MALICIOUS["dotdot"])
    result = subprocess.run(
        [sys.executable, "-m", "sagepipe", "serve", str(archive), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "escape" in result.stderr and "../escaped.txt" in result.stderr
    assert not (tmp_path / "escaped.txt").exists()


def test_model_tar_gz_with_code_is_extracted_and_found(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "src")
    write_code(model, "def output_fn(prediction, accept):\n    return 'custom'\n")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model.rglob("*")):
            tar.add(path, arcname=path.relative_to(model).as_posix(), recursive=False)
    source = prepare_model(str(archive), tmp_path / "work", {})
    assert (source.model_dir / "model.pt").is_file()
    assert source.code_dir == source.model_dir / "code" and source.program == "inference.py"


def test_environment_names_the_program_and_submit_directory(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    elsewhere = tmp_path / "src"
    elsewhere.mkdir()
    (elsewhere / "serve.py").write_text("")
    env = {"SAGEMAKER_PROGRAM": "serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": str(elsewhere)}
    source = prepare_model(str(model), tmp_path / "work", env)
    assert (source.code_dir, source.program) == (elsewhere.resolve(), "serve.py")
    container = {"SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    write_code(model, "")
    assert (
        prepare_model(str(model), tmp_path / "w2", container).code_dir == (model / "code").resolve()
    )


def test_a_missing_explicit_entry_point_is_an_error(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    write_code(model, "", name="other.py")
    with pytest.raises(ModelSourceError, match=r"serve\.py is not in .*other\.py"):
        prepare_model(str(model), tmp_path / "work", {}, entry_point="serve.py")


def test_an_entry_point_path_without_source_dir_is_added_to_the_models_code(
    tmp_path: Path,
) -> None:
    # As the SDK's repack: MODEL's code/ is kept, only the script is added (not its directory).
    model = write_linear(tmp_path / "model")
    write_code(model, "OLD = True\n", name="serve.py")
    write_code(model, "HELPER = True\n", name="helper.py")
    scripts = tmp_path / "project" / "model"
    scripts.mkdir(parents=True)
    (scripts / "serve.py").write_text("NEW = True\n")
    (scripts / "unrelated.py").write_text("")
    source = prepare_model(str(model), tmp_path / "work", {}, entry_point=str(scripts / "serve.py"))
    assert source.program == "serve.py" and source.code_dir is not None
    assert sorted(p.name for p in source.code_dir.iterdir()) == ["helper.py", "serve.py"]
    assert (source.code_dir / "serve.py").read_text() == "NEW = True\n"
    assert (model / "code" / "serve.py").read_text() == "OLD = True\n"  # MODEL untouched
    with pytest.raises(ModelSourceError, match=r"entry point .*missing\.py is not a file"):
        prepare_model(str(model), tmp_path / "w2", {}, entry_point=str(scripts / "missing.py"))


def test_an_entry_point_path_with_a_source_dir_is_relative_to_it(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "serve.py").write_text("")
    source = prepare_model(
        str(model), tmp_path / "work", {}, entry_point="model/serve.py", source_dir=str(project)
    )
    assert (source.code_dir, source.program) == (project.resolve(), "model/serve.py")


def test_missing_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="does not exist"):
        prepare_model(str(tmp_path / "nope.tar.gz"), tmp_path, {})
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(ModelSourceError, match="neither a directory nor a tar archive"):
        prepare_model(str(tmp_path / "plain.txt"), tmp_path, {})


@pytest.mark.slow
def test_serve_an_s3_model_through_the_storage_layer(
    tmp_path: Path, s3_bucket: str, s3_env: dict[str, str]
) -> None:
    import boto3

    model = write_linear(tmp_path / "model")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model / "model.pt", arcname="model.pt")
    boto3.client("s3").upload_file(str(archive), s3_bucket, "models/model.tar.gz")
    env = {**s3_env, "SAGEPIPE_STORAGE": "s3", "SAGEPIPE_HOME": str(tmp_path / "home")}
    with running_server(f"s3://{s3_bucket}/models/model.tar.gz", env=env) as server:
        status, _, body = server.invoke(json_body([[1, 0]]), "application/json")
        assert (status, body) == (200, b"[[1.5]]")
