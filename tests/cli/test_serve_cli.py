"""``sagepipe serve``, ``sagepipe invoke`` and ``sagepipe transform`` through the real entry
point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving.support import running_server, write_linear

pytestmark = pytest.mark.slow


def sagepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=cwd,
        env={**os.environ, "SAGEPIPE_HOME": str(cwd / "home")},
        capture_output=True,
        timeout=120,
    )


def test_serve_then_invoke(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    (tmp_path / "body.json").write_text("[[1, 2]]")
    with running_server(model) as server:
        assert server.url.startswith("http://127.0.0.1:")
        ok = sagepipe(
            "invoke",
            server.url,
            "--content-type",
            "application/json",
            "--data",
            "@body.json",
            cwd=tmp_path,
        )
        assert (ok.returncode, ok.stdout) == (0, b"[[5.5]]")
        csv = sagepipe(
            "invoke",
            server.url,
            "--content-type",
            "text/csv",
            "--accept",
            "text/csv",
            "--data",
            "3,4",
            cwd=tmp_path,
        )
        assert (csv.returncode, csv.stdout) == (0, b"11.5\n")
        bad = sagepipe(
            "invoke", server.url, "--content-type", "text/plain", "--data", "x", cwd=tmp_path
        )
        assert bad.returncode == 2
        assert b"HTTP 415" in bad.stderr and len(bad.stderr.decode().strip().splitlines()) == 1
    assert server.process.returncode == 0


def test_transform(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("1,2\n3,4\n")
    result = sagepipe(
        "transform",
        str(model),
        "--input",
        "in",
        "--output",
        "out",
        "--content-type",
        "text/csv",
        "--accept",
        "text/csv",
        "--split-type",
        "Line",
        "--batch-strategy",
        "MultiRecord",
        "--assemble-with",
        "Line",
        "--join-source",
        "Input",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "out/a.csv.out"
    assert (tmp_path / "out" / "a.csv.out").read_text() == "1,2,5.5\n3,4,11.5\n"


def test_user_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = sagepipe("serve", "nope.tar.gz", "--port", "0", cwd=tmp_path)
    assert missing.returncode == 2
    assert b"nope.tar.gz does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    no_model = sagepipe("serve", "empty", "--port", "0", "--workers", "1", cwd=tmp_path)
    assert no_model.returncode == 2
    last = no_model.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("sagepipe: error:") and "model.pt" in last and "model_fn" in last
    no_data = sagepipe("invoke", "http://127.0.0.1:9", "--data", "@missing.json", cwd=tmp_path)
    assert no_data.returncode == 2 and b"missing.json is not a file" in no_data.stderr


def test_a_port_in_use_is_refused(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    with running_server(model) as server:
        second = sagepipe("serve", str(model), "--port", str(server.port), cwd=tmp_path)
        assert second.returncode == 2
        assert f"cannot bind 127.0.0.1:{server.port}".encode() in second.stderr
        assert server.ping() == 200


@pytest.mark.parametrize("how", ["crc", "truncated"])
def test_a_corrupt_model_archive_is_refused_with_one_line(tmp_path: Path, how: str) -> None:
    import tarfile

    model = write_linear(tmp_path / "model")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model / "model.pt", arcname="model.pt")
    data = bytearray(archive.read_bytes())
    if how == "crc":
        data[-8] ^= 0x01  # tarfile never reads the trailer: only sagepipe's check sees this
    else:
        del data[len(data) // 2 :]
    archive.write_bytes(bytes(data))

    result = sagepipe("serve", str(archive), "--port", "0", "--workers", "1", cwd=tmp_path)

    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sagepipe: error:")
    assert str(archive) in lines[0] and "corrupt" in lines[0]


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


INFERENCE = b"def model_fn(model_dir):\n    return 'model'\n"


@pytest.mark.parametrize(
    ("members", "explanation"),
    [
        (
            {"my_model/model.pt": b"w", "my_model/code/inference.py": INFERENCE},
            "everything is under the directory 'my_model/' (my_model/code/inference.py, "
            "my_model/model.pt); SageMaker extracts the archive into /opt/ml/model and expects "
            "the model files at the top level and the inference code under code/. Rebuild it "
            "from inside the directory: tar czvf model.tar.gz -C my_model .",
        ),
        (
            {"model.pt": b"w", "inference.py": INFERENCE},
            "the inference script inference.py is at the top level, but SageMaker's PyTorch "
            "inference container runs code/inference.py",
        ),
        (
            {"model.pt": b"w", "code/predict.py": INFERENCE},
            "has no code/inference.py (code/ holds: code/predict.py); put the inference script "
            "under code/ (sagepipe package adds it)",
        ),
    ],
    ids=["top-directory", "script-at-the-top", "no-entry-point"],
)
def test_a_mispacked_archive_is_explained_in_one_line(
    tmp_path: Path, members: dict[str, bytes], explanation: str
) -> None:
    archive = _archive(tmp_path / "model.tar.gz", members)

    result = sagepipe("serve", "model.tar.gz", "--port", "0", "--workers", "1", cwd=tmp_path)

    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith("sagepipe: error: model.tar.gz")
    assert explanation in stderr
    assert not result.stdout  # nothing was served
    assert archive.is_file()


def test_serve_and_package_explain_an_extra_top_directory_alike(tmp_path: Path) -> None:
    _archive(tmp_path / "model.tar.gz", {"my_model/model.pt": b"w", "my_model/notes.txt": b"n"})
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_bytes(INFERENCE)

    served = sagepipe("serve", "model.tar.gz", "--port", "0", "--workers", "1", cwd=tmp_path)
    packaged = sagepipe(
        "package", "model.tar.gz", "--source-dir", "code", "-o", "out.tar.gz", cwd=tmp_path
    )

    assert served.returncode == packaged.returncode == 2
    assert served.stderr == packaged.stderr
    assert b"everything is under the directory 'my_model/'" in served.stderr


def test_an_extracted_model_directory_is_checked_too(tmp_path: Path) -> None:
    model = tmp_path / "extracted"
    (model / "code").mkdir(parents=True)
    (model / "model.pt").write_bytes(b"w")
    (model / "code" / "serve.py").write_bytes(INFERENCE)

    wrong = sagepipe("serve", "extracted", "--port", "0", "--workers", "1", cwd=tmp_path)
    named = sagepipe("serve", "extracted", "--entry-point", "nope.py", "--port", "0", cwd=tmp_path)

    assert wrong.returncode == 2 and b"Traceback" not in wrong.stderr
    assert b"extracted has no code/inference.py (code/ holds: code/serve.py)" in wrong.stderr
    assert named.returncode == 2
    assert b"the entry point nope.py is not in" in named.stderr
    assert b"Traceback" not in named.stderr
