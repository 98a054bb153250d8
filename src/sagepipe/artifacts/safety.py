"""Archive safety: no member may be written outside its target directory.

Rejected: absolute names, ``..`` components, symbolic or hard links whose target escapes the
archive root, device files, FIFOs. The checks run on every member before anything is written.
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path

from sagepipe.errors import SagepipeError


class UnsafeArchiveError(SagepipeError):
    """An archive member would be written outside the target, or is a device or FIFO."""


def check_member(member: tarfile.TarInfo, archive: str | Path) -> str:
    """Validate one member and return its normalised relative name.

    Raises:
        UnsafeArchiveError: naming the archive and the member.
    """
    name = member.name
    where = f"{archive}: member {name!r}"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{where} has an absolute path; archives must be relative")
    normalised = posixpath.normpath(name)
    if normalised == ".." or normalised.startswith("../") or "/../" in f"/{name}/":
        raise UnsafeArchiveError(f"{where} contains '..' and would escape the target")
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise UnsafeArchiveError(f"{where} is a device or FIFO; only files, dirs and links")
    if member.issym() or member.islnk():
        target = member.linkname
        if target.startswith("/"):
            raise UnsafeArchiveError(f"{where} links to the absolute path {target!r}")
        base = posixpath.dirname(normalised) if member.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, target))
        if resolved == ".." or resolved.startswith("../"):
            raise UnsafeArchiveError(f"{where} links to {target!r}, outside the archive")
    return "" if normalised == "." else normalised


def safe_extract(archive: Path, destination: Path) -> list[str]:
    """Extract a (gzipped) tar archive into ``destination`` after checking every member.

    Returns:
        The normalised names of the extracted members.

    Raises:
        UnsafeArchiveError: if any member is unsafe; nothing is extracted then.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            names = [check_member(m, archive) for m in members]
            # The "data" filter repeats the checks above inside tarfile and drops unsafe
            # permission bits; both layers must agree before a byte is written.
            tar.extractall(destination, members=members, filter="data")
    except tarfile.TarError as exc:
        raise UnsafeArchiveError(f"{archive} is not a readable tar archive: {exc}") from None
    return [n for n in names if n]
