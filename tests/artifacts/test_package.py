"""Packaging: model members byte for byte, code/ added or replaced, attacks rejected."""

from __future__ import annotations

import gzip
import hashlib
import logging
import tarfile
import zlib
from pathlib import Path

import pytest

from sagepipe.artifacts.errors import ArchiveFormatError, ArchiveLayoutError, PackagingError
from sagepipe.artifacts.package import package_model
from sagepipe.artifacts.safety import UnsafeArchiveError, safe_extract

from .conftest import (
    Member,
    directory,
    file,
    hardlink,
    member_digests,
    names,
    random_bytes,
    symlink,
    write_archive,
)

MODEL_MEMBERS = [
    file("model.pth", random_bytes(5 << 20, 1)),  # crosses the 4 MiB compression blocks
    file("hyperparameters.json", b'{"id_name": "id"}'),
    directory("tokenizer"),
    file("tokenizer/vocab.txt", b"".join(b"word%d\n" % i for i in range(20000))),
    file("tokenizer/exactly-one-block", random_bytes(512, 2)),
    file("tokenizer/empty", b""),
    symlink("latest.pth", "model.pth"),
    hardlink("copy.pth", "model.pth"),
]


def _package(tmp_path: Path, source: Path, members: list[Member], **kwargs: object) -> Path:
    archive = write_archive(tmp_path / "model.tar.gz", members)
    output = tmp_path / "out" / "packaged.tar.gz"
    package_model(archive, source, "inference.py", [], output, **kwargs)  # type: ignore[arg-type]
    return output


def test_model_members_are_byte_identical_and_code_is_added(
    tmp_path: Path, source_dir: Path
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL_MEMBERS)
    dependency = tmp_path / "shared_utils.py"
    dependency.write_text("X = 1\n")
    output = tmp_path / "packaged.tar.gz"

    report = package_model(archive, source_dir, "inference.py", [dependency], output)

    before, after = member_digests(archive), member_digests(output)
    for name, digest in before.items():
        assert after[name] == digest, name
    assert (
        after["code/inference.py"]
        == hashlib.sha256((source_dir / "inference.py").read_bytes()).hexdigest()
    )
    listed = names(output)
    assert {"code", "code/requirements.txt", "code/helpers/__init__.py"} <= set(listed)
    assert "code/shared_utils.py" in listed
    assert report.layout.entry_point_present
    assert report.layout.requirements == "code/requirements.txt"
    assert report.model_members == len(MODEL_MEMBERS)
    assert report.compressed_bytes == output.stat().st_size
    # A valid gzip (CRC and length checked) that extracts safely with links intact.
    assert len(gzip.decompress(output.read_bytes())) == report.uncompressed_bytes
    extracted = tmp_path / "extracted"
    safe_extract(output, extracted)
    assert (extracted / "latest.pth").resolve() == (extracted / "model.pth").resolve()
    assert (extracted / "copy.pth").read_bytes() == (extracted / "model.pth").read_bytes()


def test_an_old_code_dir_is_replaced(tmp_path: Path, source_dir: Path) -> None:
    members = [
        file("model.pth", b"weights"),
        directory("code"),
        file("code/inference.py", b"OLD"),
        file("code/old_helper.py", b"OLD"),
    ]

    output = _package(tmp_path, source_dir, members)

    listed = names(output)
    assert "code/old_helper.py" not in listed
    assert listed.count("code/inference.py") == 1
    with tarfile.open(output) as tar:
        code = tar.extractfile("code/inference.py")
        assert code is not None and code.read() == (source_dir / "inference.py").read_bytes()


def test_duplicates_keep_the_last_with_a_warning(
    tmp_path: Path, source_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = [file("model.pth", b"first"), file("other", b"o"), file("model.pth", b"second")]
    archive = write_archive(tmp_path / "model.tar.gz", members)
    output = tmp_path / "packaged.tar.gz"

    with caplog.at_level(logging.WARNING, logger="sagepipe.artifacts"):
        report = package_model(archive, source_dir, "inference.py", [], output)

    assert report.duplicates == ("model.pth",)
    assert "more than once" in caplog.text
    assert names(output).count("model.pth") == 1
    with tarfile.open(output) as tar:
        kept = tar.extractfile("model.pth")
        assert kept is not None and kept.read() == b"second"


def test_junk_is_dropped(tmp_path: Path, source_dir: Path) -> None:
    members = [file("model.pth", b"w"), file("._model.pth", b"x"), file(".DS_Store", b"y")]

    output = _package(tmp_path, source_dir, members)

    assert "._model.pth" not in names(output) and ".DS_Store" not in names(output)


@pytest.mark.parametrize(
    ("attack", "match"),
    [
        (file("../evil.py", b"x"), r"'\.\.'"),
        (file("weights/../../evil.py", b"x"), r"'\.\.'"),
        (file("/tmp/evil.py", b"x"), "absolute path"),
        (symlink("evil", "/etc/passwd"), "absolute path"),
        (symlink("weights/evil", "../../outside"), "outside the archive"),
        (hardlink("evil", "../outside"), "outside the archive"),
        (Member("evil", type=tarfile.CHRTYPE), "device or FIFO"),
        (Member("evil", type=tarfile.BLKTYPE), "device or FIFO"),
        (Member("evil", type=tarfile.FIFOTYPE), "device or FIFO"),
    ],
)
def test_archive_attacks_are_rejected_and_nothing_is_written(
    tmp_path: Path, source_dir: Path, attack: Member, match: str
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w"), attack])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "packaged.tar.gz"
    output.write_bytes(b"previous version")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    with pytest.raises(UnsafeArchiveError, match=match):
        package_model(archive, source_dir, "inference.py", [], output)

    assert output.read_bytes() == b"previous version"  # untouched, no partial file
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not list(tmp_path.parent.glob("evil*"))


@pytest.mark.parametrize("payload", ["random", "text"])
def test_corrupt_model_bytes_are_refused(tmp_path: Path, source_dir: Path, payload: str) -> None:
    data = random_bytes(300_000, 4) if payload == "random" else b"weights, " * 40_000
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", data)])
    corrupted = bytearray(archive.read_bytes())
    for index in range(len(corrupted) // 2, len(corrupted) // 2 + 64):
        corrupted[index] ^= 0x5A
    archive.write_bytes(bytes(corrupted))
    output = tmp_path / "out" / "packaged.tar.gz"

    with pytest.raises(ArchiveFormatError, match="corrupt"):
        package_model(archive, source_dir, "inference.py", [], output)
    assert not output.exists()


def test_the_extra_directory_mistake_is_refused(tmp_path: Path, source_dir: Path) -> None:
    members = [directory("my_model"), file("my_model/model.pth", b"w")]

    with pytest.raises(ArchiveLayoutError, match="-C my_model"):
        _package(tmp_path, source_dir, members)
    assert not (tmp_path / "out" / "packaged.tar.gz").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_a_missing_entry_point_is_an_error(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w")])

    with pytest.raises(PackagingError, match=r"serve\.py.*inference\.py"):
        package_model(archive, source_dir, "serve.py", [], tmp_path / "o.tar.gz")
    with pytest.raises(PackagingError, match="relative"):
        package_model(archive, source_dir, "../inference.py", [], tmp_path / "o.tar.gz")


def test_a_missing_dependency_or_archive_is_an_error(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w")])

    with pytest.raises(PackagingError, match="does not exist"):
        package_model(archive, source_dir, "inference.py", [tmp_path / "nope"], tmp_path / "o")
    with pytest.raises(PackagingError, match="does not exist"):
        package_model(tmp_path / "nope.tar.gz", source_dir, "inference.py", [], tmp_path / "o")


def test_dependency_directories_go_under_code(tmp_path: Path, source_dir: Path) -> None:
    library = tmp_path / "mylib"
    (library / "sub").mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "sub" / "mod.py").write_text("")
    (library / "__pycache__").mkdir()
    (library / "__pycache__" / "x.pyc").write_bytes(b"")
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w")])

    package_model(archive, source_dir, "inference.py", [library], tmp_path / "o.tar.gz")

    listed = names(tmp_path / "o.tar.gz")
    assert {"code/mylib", "code/mylib/__init__.py", "code/mylib/sub/mod.py"} <= set(listed)
    assert not [n for n in listed if "__pycache__" in n]


@pytest.mark.parametrize("level", [1, 6, 9])
def test_output_size_stays_within_one_percent_of_gzip(
    tmp_path: Path, source_dir: Path, level: int
) -> None:
    # Text (where zlib's matching wins) next to random bytes (where ISA-L is as good).
    # The first 4 MiB block is random; the second mixes a little random and much text.
    text = b"".join(b"feature_%d,%d,cat_%d\n" % (i, i * 7 % 1000, i % 13) for i in range(60_000))
    members = [file("model.pth", random_bytes(9 << 19, 3)), file("vocab.csv", text)]

    output = _package(tmp_path, source_dir, members, compression_level=level, threads=2)

    stream = gzip.decompress(output.read_bytes())
    reference = zlib.compressobj(level, zlib.DEFLATED, 31)
    reference_size = len(reference.compress(stream) + reference.flush())
    assert output.stat().st_size <= reference_size * 1.01


def test_a_bad_compression_level_is_an_error(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w")])

    with pytest.raises(PackagingError, match="1-9"):
        package_model(archive, source_dir, "inference.py", [], tmp_path / "o", 0)


def test_one_thread_gives_the_same_archive_content(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL_MEMBERS)

    one = package_model(archive, source_dir, "inference.py", [], tmp_path / "1.tar.gz", threads=1)
    two = package_model(archive, source_dir, "inference.py", [], tmp_path / "2.tar.gz", threads=2)

    assert gzip.decompress((tmp_path / "1.tar.gz").read_bytes()) == gzip.decompress(
        (tmp_path / "2.tar.gz").read_bytes()
    )
    assert one.uncompressed_bytes == two.uncompressed_bytes


def test_packaging_in_place_replaces_the_input(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"weights")])

    package_model(archive, source_dir, "inference.py", [], archive)

    assert sorted(names(archive)) == [
        "code",
        "code/helpers",
        "code/helpers/__init__.py",
        "code/inference.py",
        "code/requirements.txt",
        "model.pth",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
