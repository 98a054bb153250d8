"""Helpers that build model archives member by member, attacks included."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Member:
    """One member to write: a file (``data``), a directory, a link or a special file."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644


def file(name: str, data: bytes) -> Member:
    return Member(name, data)


def directory(name: str) -> Member:
    return Member(name, type=tarfile.DIRTYPE, mode=0o755)


def symlink(name: str, target: str) -> Member:
    return Member(name, type=tarfile.SYMTYPE, linkname=target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, type=tarfile.LNKTYPE, linkname=target)


def write_archive(
    path: Path,
    members: Iterable[Member],
    *,
    compression: str = "gz",
    tar_format: int = tarfile.PAX_FORMAT,
) -> Path:
    """Write ``members`` in order (duplicates and unsafe names kept as given)."""
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(path, mode, format=tar_format) as tar:  # type: ignore[call-overload]
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.mode = member.mode
            info.linkname = member.linkname
            info.mtime = 1_700_000_000
            if member.type == tarfile.REGTYPE:
                info.size = len(member.data)
                tar.addfile(info, io.BytesIO(member.data))
            else:
                tar.addfile(info)
    return path


def member_digests(archive: Path) -> dict[str, str]:
    """sha256 of every regular file's bytes, read back with tarfile (the last one wins)."""
    digests = {}
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            if info.isreg():
                extracted = tar.extractfile(info)
                assert extracted is not None
                digests[info.name] = hashlib.sha256(extracted.read()).hexdigest()
    return digests


def names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:*") as tar:
        return tar.getnames()


def random_bytes(size: int, seed: int) -> bytes:
    """Deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(size)


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    """An inference source dir: inference.py, requirements.txt and a helper package."""
    source = tmp_path / "src"
    (source / "helpers").mkdir(parents=True)
    (source / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    (source / "requirements.txt").write_text("numpy\n")
    (source / "helpers" / "__init__.py").write_text("VALUE = 1\n")
    return source
