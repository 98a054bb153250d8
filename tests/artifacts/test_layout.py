"""Layout validation of model archives: both ways, junk, and the classic mistake."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.errors import ArchiveFormatError, ArchiveLayoutError
from sagepipe.artifacts.layout import (
    ArchiveEntry,
    check_serving_layout,
    directory_entries,
    validate_model_archive,
)
from sagepipe.artifacts.safety import UnsafeArchiveError

from .conftest import directory, file, symlink, write_archive

GOOD = [
    file("model.pth", b"weights"),
    file("hyperparameters.json", b"{}"),
    directory("code"),
    file("code/inference.py", b"def model_fn(d): ..."),
    file("code/requirements.txt", b"numpy\n"),
]


def test_a_good_archive_reports_what_is_where(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", GOOD)

    report = validate_model_archive(archive, entry_point="inference.py")

    assert report.model_files == ("model.pth", "hyperparameters.json")
    assert report.code_files == ("code/inference.py", "code/requirements.txt")
    assert report.entry_point_present is True
    assert report.requirements == "code/requirements.txt"
    assert report.has_code
    assert report.total_bytes == sum(len(m.data) for m in GOOD)
    assert "entry point code/inference.py: present" in report.summary()


def test_a_model_only_archive_is_valid_and_has_no_code(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w")])

    report = validate_model_archive(archive)

    assert report.model_files == ("model.pth",)
    assert not report.has_code
    assert report.entry_point_present is None
    assert report.requirements is None


def test_an_archive_of_dot_prefixed_names_is_valid(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [directory("."), file("./model.pth", b"w"), file("./code/inference.py", b"")],
    )

    report = validate_model_archive(archive, entry_point="inference.py")

    assert report.model_files == ("model.pth",)
    assert report.entry_point_present


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs the tar command")
def test_the_extra_top_directory_mistake_says_how_to_rebuild(tmp_path: Path) -> None:
    model_dir = tmp_path / "my_model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "model.pth").write_bytes(b"weights")
    (model_dir / "code" / "inference.py").write_text("")
    # Exactly what users type (the SageMaker docs' "common mistake").
    subprocess.run(["tar", "czf", "model.tar.gz", "my_model/"], cwd=tmp_path, check=True)

    with pytest.raises(ArchiveLayoutError) as caught:
        validate_model_archive(tmp_path / "model.tar.gz")

    message = str(caught.value)
    assert "my_model/" in message
    assert "tar czvf model.tar.gz -C my_model ." in message

    # The command from the message builds an archive that passes.
    subprocess.run(["tar", "czf", "fixed.tar.gz", "-C", "my_model", "."], cwd=tmp_path, check=True)
    report = validate_model_archive(tmp_path / "fixed.tar.gz", entry_point="inference.py")
    assert report.model_files == ("model.pth",)


def test_the_mistake_is_found_behind_a_dot_entry(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [directory("."), directory("./export"), file("./export/model.pth", b"w")],
    )

    with pytest.raises(ArchiveLayoutError, match="-C export"):
        validate_model_archive(archive)


def test_an_archive_holding_only_code_is_not_the_mistake(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "m.tar.gz", [file("code/inference.py", b"")])

    assert validate_model_archive(archive).code_files == ("code/inference.py",)


def test_a_single_top_level_file_is_not_the_mistake(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "m.tar.gz", [file("model.pt", b"x")])

    assert validate_model_archive(archive).model_files == ("model.pt",)


def test_junk_is_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [
            file("model.pth", b"w"),
            file("._model.pth", b"apple double"),
            file(".DS_Store", b"finder"),
            file("__MACOSX/._model.pth", b"resource fork"),
            file("code/.DS_Store", b"finder"),
        ],
    )

    with caplog.at_level(logging.WARNING, logger="sagepipe.artifacts"):
        report = validate_model_archive(archive)

    assert report.model_files == ("model.pth",)
    assert set(report.ignored) == {
        "._model.pth",
        ".DS_Store",
        "__MACOSX/._model.pth",
        "code/.DS_Store",
    }
    assert "ignoring junk" in caplog.text and "._model.pth" in caplog.text


def test_junk_alone_does_not_hide_the_extra_directory(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [file("__MACOSX/._x", b""), file("export/model.pth", b"w"), file("._export", b"")],
    )

    with pytest.raises(ArchiveLayoutError, match="-C export"):
        validate_model_archive(archive)


def test_a_missing_entry_point_lists_what_code_holds(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz", [file("model.pth", b"w"), file("code/serve.py", b"")]
    )

    with pytest.raises(ArchiveLayoutError, match=r"no code/inference\.py.*code/serve\.py"):
        validate_model_archive(archive, entry_point="inference.py")


def test_an_empty_archive_is_an_error(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [])

    with pytest.raises(ArchiveLayoutError, match="holds no model files"):
        validate_model_archive(archive)


def test_a_plain_tar_is_read_too(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar", GOOD, compression="")

    assert validate_model_archive(archive).model_files == ("model.pth", "hyperparameters.json")


def test_unsafe_members_are_rejected(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz", [file("model.pth", b"w"), symlink("link", "/etc/passwd")]
    )

    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        validate_model_archive(archive)


def test_duplicates_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz", [file("model.pth", b"1"), file("model.pth", b"22")]
    )

    with caplog.at_level(logging.WARNING, logger="sagepipe.artifacts"):
        report = validate_model_archive(archive)

    assert report.duplicates == ("model.pth",)
    assert "last one wins" in caplog.text


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"this is not an archive at all" * 40, "invalid tar header"),
        (b"BZh91AY&SY" + b"\0" * 100, "bzip2"),
    ],
)
def test_files_that_are_not_tar_archives(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(content)

    with pytest.raises(ArchiveFormatError, match=match):
        validate_model_archive(path)


def test_a_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", bytes(200_000))])
    archive.write_bytes(archive.read_bytes()[:-30])

    with pytest.raises(ArchiveFormatError, match="truncated"):
        validate_model_archive(archive)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveFormatError, match="cannot read"):
        validate_model_archive(tmp_path / "absent.tar.gz")


def test_gnu_and_pax_long_names_read_as_tarfile_reads_them(tmp_path: Path) -> None:
    long_name = "code/" + "d" * 120 + "/inference.py"
    for tar_format in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        archive = write_archive(
            tmp_path / f"m{tar_format}.tar.gz",
            [file("model.pth", b"w"), file(long_name, b"x")],
            tar_format=tar_format,
        )

        report = validate_model_archive(archive)

        assert report.code_files == (long_name,)


def _entries(*names: str) -> list[ArchiveEntry]:
    return [ArchiveEntry(n.rstrip("/"), "dir" if n.endswith("/") else "file") for n in names]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ("m/", "m/model.pth", "m/code/inference.py"),
            r"everything is under the directory 'm/'.*tar czvf model.tar.gz -C m \.",
        ),
        (
            ("model.pth", "inference.py"),
            r"the inference script inference.py is at the top level.*runs code/inference.py"
            r".*sagepipe package model.tar.gz --source-dir DIR",
        ),
        (
            ("model.pth", "code/", "code/predict.py"),
            r"has no code/inference.py \(code/ holds: code/predict.py\); put the inference "
            r"script under code/ \(sagepipe package adds it\)",
        ),
    ],
)
def test_serving_refuses_what_the_container_would_not_find(
    names: tuple[str, ...], expected: str
) -> None:
    with pytest.raises(ArchiveLayoutError, match=expected):
        check_serving_layout(
            _entries(*names), "model.tar.gz", program="inference.py", code_from_archive=True
        )


@pytest.mark.parametrize(
    ("names", "code_from_archive"),
    [
        ((), True),  # empty: the default handlers explain what they miss
        (("model.pt",), True),  # TorchScript served by the default handlers
        (("model.pt", "code/", "code/requirements.txt"), True),
        (("model.pth", "code/", "code/inference.py", "code/util.py"), True),
        (("model.pth", "inference.py"), False),  # the code comes from --source-dir
        (("model.pth", "code/predict.py"), False),
        (("weights/", "weights/model.pt"), False),  # model_fn reads model_dir/weights/
        (("._model.pth", "model.pth", "__MACOSX/", "__MACOSX/x"), True),
    ],
)
def test_serving_accepts_layouts_the_container_serves(
    names: tuple[str, ...], code_from_archive: bool
) -> None:
    check_serving_layout(
        _entries(*names),
        "model.tar.gz",
        program="inference.py",
        code_from_archive=code_from_archive,
    )


def test_a_directory_lists_as_its_archive_would(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("x = 1\n")
    (tmp_path / "model.pth").write_bytes(b"12345")

    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to("model.pth")

    assert directory_entries(tmp_path) == [
        ArchiveEntry("code/inference.py", "file", 6),
        ArchiveEntry("link", "symlink"),
        ArchiveEntry("model.pth", "file", 5),
    ]
