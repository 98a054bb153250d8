"""Links checked against the links before them, and the permission bits packaging keeps.

Every archive here is also extracted the way a careless consumer would (``tarfile`` without a
filter) when sagepipe accepts it: nothing may land outside the target.
"""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.package import package_model
from sagepipe.artifacts.safety import UnsafeArchiveError, safe_extract

from .conftest import Member, directory, file, symlink, write_archive

CHAINS = {
    # a -> ., b -> a/.. : b is the target's parent, so b/f is written above the target.
    "dot-then-dotdot": [symlink("a", "."), symlink("b", "a/.."), file("b/f", b"x")],
    "member-under-a-link": [directory("sub"), symlink("a", "sub"), file("a/f", b"x")],
    "target-through-a-link": [symlink("a", "."), symlink("c", "a/x")],
    "up-after-down": [symlink("c", "d/../y")],
    "link-replaces-a-directory": [file("d/f", b"x"), symlink("d", ".")],
    "relink-after-use": [symlink("c", "d/../y"), symlink("d", ".")],
    "deep-chain": [
        directory("p"),
        symlink("p/q", ".."),
        symlink("r", "p/q/.."),
        file("r/escaped", b"x"),
    ],
}


def _sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """A target inside a sentinel tree: anything written outside the target shows up."""
    sentinel = tmp_path / "sentinel"
    target = sentinel / "inner" / "target"
    target.mkdir(parents=True)
    return sentinel, target


def _outside(sentinel: Path, target: Path) -> list[str]:
    return sorted(
        str(p.relative_to(sentinel))
        for p in sentinel.rglob("*")
        if p != target and target not in p.parents and p not in target.parents
    )


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_link_chains_are_refused_by_the_checker(name: str) -> None:
    from sagepipe.artifacts.safety import MemberChecker

    checker = MemberChecker("model.tar.gz")
    with pytest.raises(UnsafeArchiveError, match=r"model\.tar\.gz: member"):
        for member in CHAINS[name]:
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.linkname = member.linkname
            checker.check(info)


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_link_chains_are_refused_by_package_and_extraction(
    tmp_path: Path, source_dir: Path, name: str
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("model.pth", b"w"), *CHAINS[name]])
    sentinel, target = _sandbox(tmp_path)

    with pytest.raises(UnsafeArchiveError):
        package_model(archive, source_dir, "inference.py", [], target / "packaged.tar.gz")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, target / "model")

    assert _outside(sentinel, target) == []
    assert list(target.iterdir()) == []


def test_safe_links_are_kept_and_stay_inside(tmp_path: Path, source_dir: Path) -> None:
    members = [
        directory("weights"),
        file("weights/model-v2.pth", b"weights"),
        symlink("weights/latest.pth", "model-v2.pth"),
        symlink("model.pth", "weights/latest.pth"),
        directory("tokenizer"),
        symlink("tokenizer/vocab.txt", "../weights/model-v2.pth"),
        symlink("alias", "."),
    ]
    archive = write_archive(tmp_path / "model.tar.gz", members)
    sentinel, target = _sandbox(tmp_path)

    output = target / "packaged.tar.gz"
    package_model(archive, source_dir, "inference.py", [], output)
    safe_extract(archive, target / "extracted")
    # A consumer without a filter: the packaged output must be safe for it too.
    with tarfile.open(output) as tar:
        tar.extractall(target / "plain", filter="fully_trusted")

    for tree in ("extracted", "plain"):
        assert (target / tree / "model.pth").read_bytes() == b"weights"
        assert (target / tree / "tokenizer" / "vocab.txt").read_bytes() == b"weights"
    assert _outside(sentinel, target) == []


# --- permission bits -----------------------------------------------------------------------------


def _modes(archive: Path) -> dict[str, int]:
    with tarfile.open(archive) as tar:
        return {info.name: stat.S_IMODE(info.mode) for info in tar}


@pytest.mark.parametrize("min_bytes", [0, 1 << 40], ids=["spliced", "streamed"])
def test_special_permission_bits_are_dropped(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    members = [
        Member("shared", type=tarfile.DIRTYPE, mode=0o1777),
        Member("shared/model.pth", b"w" * (2 << 20), mode=0o4777),
        Member("run.sh", b"#!/bin/sh\n", mode=0o6755),
        Member("config.json", b"{}", mode=0o664),
    ]
    archive = write_archive(tmp_path / "model.tar.gz", members)
    output = tmp_path / "packaged.tar.gz"

    package_model(archive, source_dir, "inference.py", [], output, splice_min_bytes=min_bytes)

    modes = _modes(output)
    assert modes["shared"] == 0o775
    assert modes["shared/model.pth"] == 0o775
    assert modes["run.sh"] == 0o755
    assert modes["config.json"] == 0o664  # group write (umask 002) is kept
