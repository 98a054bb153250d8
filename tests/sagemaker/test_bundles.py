"""Deterministic, content-addressed packing of code directories."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from sagepipe.sagemaker.bundles import Bundle, dependency_files, directory_files
from sagepipe.sagemaker.errors import CompileError


def snapshot(root: Path) -> dict[str, tuple[bytes, float, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_archive_is_reproducible_and_normalised(code_copy: Path) -> None:
    first = Bundle.of(directory_files(code_copy), "code")
    # Touch every file and change permissions: neither is content, so nothing may change.
    later = time.time() + 3600
    for path in code_copy.rglob("*.py"):
        os.utime(path, (later, later))
        path.chmod(0o600)
    second = Bundle.of(directory_files(code_copy), "code")
    assert first.archive() == second.archive()
    assert first.digest == second.digest
    data = first.archive()
    assert data[:2] == b"\x1f\x8b"
    assert data[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME
    assert not data[3] & 0x08  # no FNAME
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = archive.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert "helpers/columns.py" in names
    for member in members:
        assert member.isfile()
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            0,
            0,
            0,
            "",
            "",
        )
        assert member.mode == 0o644


def test_digest_is_of_the_uncompressed_tar(code_copy: Path) -> None:
    import hashlib

    bundle = Bundle.of(directory_files(code_copy), "code")
    assert bundle.digest == hashlib.sha256(gzip.decompress(bundle.archive())).hexdigest()


def test_content_changes_the_digest(code_copy: Path) -> None:
    before = Bundle.of(directory_files(code_copy), "code").digest
    (code_copy / "train.py").write_text("print('changed')\n")
    assert Bundle.of(directory_files(code_copy), "code").digest != before


def test_build_by_products_are_skipped(code_copy: Path) -> None:
    before = Bundle.of(directory_files(code_copy), "code").digest
    (code_copy / "__pycache__").mkdir()
    (code_copy / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\x00")
    (code_copy / "helpers" / "columns.pyc").write_bytes(b"\x00")
    assert Bundle.of(directory_files(code_copy), "code").digest == before


def test_executable_bit_is_kept(code_copy: Path) -> None:
    (code_copy / "run.sh").write_text("#!/bin/sh\n")
    (code_copy / "run.sh").chmod(0o755)
    bundle = Bundle.of(directory_files(code_copy), "code")
    with tarfile.open(fileobj=io.BytesIO(bundle.archive()), mode="r:gz") as archive:
        assert archive.getmember("run.sh").mode == 0o755


def test_packing_never_modifies_the_source(code_copy: Path) -> None:
    before = snapshot(code_copy)
    Bundle.of(directory_files(code_copy), "code").archive()
    assert snapshot(code_copy) == before


def test_dependencies_go_to_the_top_level(tmp_path: Path, code_copy: Path) -> None:
    library = tmp_path / "shared_lib"
    library.mkdir()
    (library / "util.py").write_text("X = 1\n")
    (tmp_path / "single.py").write_text("Y = 2\n")
    files = dependency_files([str(library), str(tmp_path / "single.py")])
    assert [f.arcname for f in files] == ["shared_lib/util.py", "single.py"]


def test_symlinked_directory_is_an_error(code_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (code_copy / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(CompileError, match="symbolic link to a directory"):
        directory_files(code_copy)


def test_duplicate_names_are_an_error(code_copy: Path) -> None:
    files = directory_files(code_copy)
    with pytest.raises(CompileError, match="packed twice"):
        Bundle.of([*files, files[0]], "code")
