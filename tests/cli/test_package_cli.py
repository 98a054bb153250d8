"""``sagepipe package`` through the real entry point."""

from __future__ import annotations

import io
import random
import resource
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest


def _sagepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _model_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    code = tmp_path / "src"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (code / "requirements.txt").write_text("numpy\n")
    return code


def test_package_writes_a_servable_archive(tmp_path: Path, source: Path) -> None:
    model = _model_archive(tmp_path / "model.tar.gz", {"model.pth": b"weights" * 1000})
    helper = tmp_path / "helper.py"
    helper.write_text("X = 1\n")

    result = _sagepipe(
        "package",
        str(model),
        "--source-dir",
        str(source),
        "--entry-point",
        "inference.py",
        "--dependency",
        str(helper),
        "-o",
        str(tmp_path / "out.tar.gz"),
        "--compression-level",
        "9",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "1 model file(s), 3 code file(s)" in result.stdout
    assert "requirements: code/requirements.txt" in result.stdout
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert sorted(tar.getnames()) == [
            "code",
            "code/helper.py",
            "code/inference.py",
            "code/requirements.txt",
            "model.pth",
        ]
        weights = tar.extractfile("model.pth")
        assert weights is not None and weights.read() == b"weights" * 1000


def test_a_mistake_is_one_line_and_status_2(tmp_path: Path, source: Path) -> None:
    model = _model_archive(tmp_path / "model.tar.gz", {"my_model/model.pth": b"w"})

    result = _sagepipe(
        "package",
        str(model),
        "--source-dir",
        str(source),
        "-o",
        str(tmp_path / "out.tar.gz"),
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("sagepipe: error: ")
    assert "tar czvf model.tar.gz -C my_model ." in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.tar.gz").exists()


def test_an_archive_attack_is_refused(tmp_path: Path, source: Path) -> None:
    model = _model_archive(tmp_path / "model.tar.gz", {"model.pth": b"w", "../escape.py": b"x"})

    result = _sagepipe(
        "package",
        str(model),
        "--source-dir",
        str(source),
        "-o",
        str(tmp_path / "out.tar.gz"),
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "'..'" in result.stderr
    assert not (tmp_path.parent / "escape.py").exists()


def test_help_lists_the_options(tmp_path: Path) -> None:
    result = _sagepipe("package", "--help", cwd=tmp_path)

    assert result.returncode == 0
    for option in ("--source-dir", "--entry-point", "--dependency", "--compression-level"):
        assert option in result.stdout


@pytest.fixture(scope="module")
def large_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    weights = random.Random(0).randbytes(65 << 20)  # above the 64 MiB splicing threshold
    model = tmp_path_factory.mktemp("large") / "model.tar.gz"
    with tarfile.open(model, "w:gz", compresslevel=1) as tar:  # random bytes: stored blocks
        info = tarfile.TarInfo("model.pth")
        info.size = len(weights)
        tar.addfile(info, io.BytesIO(weights))
    return model, weights


def test_a_large_archive_is_spliced(
    tmp_path: Path, source: Path, large_model: tuple[Path, bytes]
) -> None:
    model, weights = large_model

    result = _sagepipe(
        "package", str(model), "--source-dir", str(source), "-o", "out.tar.gz", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert f"compressed bytes of {model} as they were" in result.stdout
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert tar.getnames() == ["model.pth", "code", "code/inference.py", "code/requirements.txt"]
        packaged = tar.extractfile("model.pth")
        assert packaged is not None and packaged.read() == weights


def _limit_file_size() -> None:
    # Python ignores SIGXFSZ, so writing past the limit fails with EFBIG, as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))


@pytest.mark.parametrize("spliced", [True, False], ids=["spliced", "recompressed"])
def test_an_output_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, source: Path, large_model: tuple[Path, bytes], spliced: bool
) -> None:
    model = large_model[0]
    if not spliced:  # a plain tar is recompressed
        model = tmp_path / "model.tar"
        with tarfile.open(model, "w") as tar:
            tar.add(large_model[0], "model.pth")

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagepipe",
            "package",
            str(model),
            "--source-dir",
            str(source),
            "-o",
            "out.tar.gz",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size,
    )

    assert result.returncode == 2, result.stderr
    assert f"packaging {model} into out.tar.gz failed" in result.stderr
    assert "File too large" in result.stderr
    # Splicing reserves the output's space first, so it fails before reading the input.
    assert ("cannot allocate" in result.stderr) == spliced
    assert "Traceback" not in result.stderr
    # No output and no temporary file: only the inputs are left.
    assert sorted(tmp_path.iterdir()) == sorted({source, model} & set(tmp_path.iterdir()))


def _damage(archive: Path, how: str) -> None:
    data = bytearray(archive.read_bytes())
    if how == "crc":
        data[-8] ^= 0x01  # the trailer's CRC-32: the deflate data still decodes
    elif how == "deflate":
        for index in range(len(data) // 2, len(data) // 2 + 64):
            data[index] ^= 0x5A
    else:
        del data[len(data) * 2 // 3 :]
    archive.write_bytes(bytes(data))


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str], archive: Path) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sagepipe: error:")
    assert str(archive) in lines[0] and "corrupt" in lines[0]


@pytest.mark.parametrize("how", ["crc", "deflate", "truncated"])
def test_a_corrupt_archive_is_refused_with_one_line(tmp_path: Path, source: Path, how: str) -> None:
    model = _model_archive(tmp_path / "model.tar.gz", {"model.pth": random.randbytes(300_000)})
    _damage(model, how)

    result = _sagepipe(
        "package", str(model), "--source-dir", str(source), "-o", "out.tar.gz", cwd=tmp_path
    )

    _assert_one_line_refusal(result, model)
    assert not (tmp_path / "out.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["crc", "truncated"])
def test_a_corrupt_archive_above_the_splice_threshold_is_refused(
    tmp_path: Path, source: Path, how: str
) -> None:
    """64 MiB and more is spliced: the defect reported success and wrote a corrupt output."""
    from isal import igzip

    weights = bytearray(random.Random(7).randbytes(76 << 20))
    weights[7::8] = bytes(len(weights[7::8]))  # compresses a little: spliced, still >= 64 MiB
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("model.pth")
        info.size = len(weights)
        tar.addfile(info, io.BytesIO(weights))
    model = tmp_path / "model.tar.gz"
    model.write_bytes(igzip.compress(buffer.getvalue(), compresslevel=2))  # type: ignore[no-untyped-call]
    good = _sagepipe(
        "package", str(model), "--source-dir", str(source), "-o", "good.tar.gz", cwd=tmp_path
    )
    assert good.returncode == 0 and "reused" in good.stdout, good.stdout + good.stderr
    _damage(model, how)

    result = _sagepipe(
        "package", str(model), "--source-dir", str(source), "-o", "out.tar.gz", cwd=tmp_path
    )

    _assert_one_line_refusal(result, model)
    assert not (tmp_path / "out.tar.gz").exists()
