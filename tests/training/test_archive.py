"""model/ -> model.tar.gz with isal: members, determinism, atomicity, link safety."""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.safety import safe_extract
from sagepipe.training import TrainingJobError, make_archive


def _model_dir(root: Path) -> Path:
    model = root / "model"
    (model / "code").mkdir(parents=True)
    (model / "empty").mkdir()
    (model / "model.pth").write_bytes(os.urandom(4096))
    (model / "code" / "inference.py").write_text("def model_fn(d): ...\n")
    (model / "code" / "requirements.txt").write_text("")
    return model


def test_members_are_relative_and_sorted(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    archive = make_archive(model, tmp_path / "out" / "model.tar.gz")
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        assert names == [
            "code",
            "code/inference.py",
            "code/requirements.txt",
            "empty",
            "model.pth",
        ]
        member = tar.getmember("model.pth")
        assert (member.uid, member.gid, member.mtime) == (0, 0, 0)
    extracted = tmp_path / "extracted"
    safe_extract(archive, extracted)
    assert (extracted / "model.pth").read_bytes() == (model / "model.pth").read_bytes()
    # A standard gzip reader reads isal's output.
    with gzip.open(archive) as stream:
        assert len(stream.read()) > 4096


def test_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    first = make_archive(model, tmp_path / "a.tar.gz").read_bytes()
    os.utime(model / "model.pth", (1, 1))
    second = make_archive(model, tmp_path / "b.tar.gz").read_bytes()
    assert first == second


def test_no_partial_archive_and_no_escaping_links(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    (tmp_path / "secret.txt").write_text("outside")
    (model / "leak").symlink_to(tmp_path / "secret.txt")
    dest = tmp_path / "out" / "model.tar.gz"
    with pytest.raises(TrainingJobError, match="leak links outside"):
        make_archive(model, dest)
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(TrainingJobError, match="not a directory"):
        make_archive(tmp_path / "missing", dest)


def test_empty_dir_gives_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    archive = make_archive(tmp_path / "data", tmp_path / "output.tar.gz")
    with tarfile.open(archive, "r:gz") as tar:
        assert tar.getnames() == []
