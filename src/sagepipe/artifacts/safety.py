"""Archive safety: no member may be written outside its target directory.

Rejected: absolute names, ``..`` components, symbolic or hard links whose target escapes the
archive root, device files, FIFOs. Links are also checked against the links seen earlier in
the same archive, because a path is only as safe as the links it goes through (``a -> .``,
``b -> a/..``, then ``b/f`` writes above the target, though every name looks harmless):

* no member may be stored under an earlier symbolic link (``b/f`` when ``b`` is a link);
* a link's target may go up (``../``) only before it goes down, and not through an earlier
  symbolic link (``b -> a/..``, ``c -> a/x`` when ``a`` is a link);
* a symbolic link may not replace a directory that earlier members are stored in.

Then every link resolves within the target on disk, whichever tool extracts the archive later
(even ``tarfile`` without a filter). :class:`MemberChecker` applies the checks member by member,
before anything is written; :func:`safe_extract` extracts through it, verifying the gzip CRC.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from sagepipe.errors import SagepipeError

MODE_MASK = 0o775
"""Permission bits a packaged member keeps: setuid, setgid, sticky and write-by-others are
cleared (as ``tarfile``'s ``data`` filter does); group write (umask 002) is kept."""


class UnsafeArchiveError(SagepipeError):
    """An archive member would be written outside the target, or is a device or FIFO."""


class MemberChecker:
    """Checks the members of one archive in order, remembering its links and directories.

    Args:
        archive: The archive's name, for error messages.
    """

    def __init__(self, archive: str | Path) -> None:
        self._archive = archive
        self._symlinks: set[str] = set()
        self._directories: set[str] = set()  # named as such or holding an earlier member

    def check(self, member: tarfile.TarInfo) -> str:
        """Validate the next member and return its normalised relative name ("" for the
        archive's root).

        Raises:
            UnsafeArchiveError: naming the archive and the member.
        """
        name = check_member(member, self._archive)
        if not name:
            return name
        where = f"{self._archive}: member {member.name!r}"
        parents = _prefixes(name)
        for parent in parents:
            if parent in self._symlinks:
                raise UnsafeArchiveError(
                    f"{where} is stored under the symbolic link {parent!r}, which could lead "
                    "outside the target; store the real path instead"
                )
        if member.issym() or member.islnk():
            base = posixpath.dirname(name) if member.issym() else ""
            self._check_target(where, base, member.linkname)
        if member.issym():
            if name in self._directories:
                raise UnsafeArchiveError(
                    f"{where} is a symbolic link replacing a directory that earlier members "
                    "are stored in"
                )
            # Kept even if a later member reuses the name: tools that extract without a
            # filter write that member through the link, which stays.
            self._symlinks.add(name)
        self._directories.update(parents)
        if member.isdir():
            self._directories.add(name)
        return name

    def _check_target(self, where: str, base: str, target: str) -> None:
        """A link target walks up, then down, and never through an earlier symbolic link."""
        path = base.split("/") if base else []
        descending = False
        parts = [part for part in target.split("/") if part not in ("", ".")]
        for index, part in enumerate(parts):
            if part == "..":
                if descending:
                    raise UnsafeArchiveError(
                        f"{where} links to {target!r}, which goes back up after going down; "
                        "link to the normalised path instead"
                    )
                path.pop()  # never empty: check_member refused targets outside the root
                continue
            descending = True
            path.append(part)
            joined = "/".join(path)
            if index < len(parts) - 1 and joined in self._symlinks:
                raise UnsafeArchiveError(
                    f"{where} links to {target!r}, which goes through the symbolic link "
                    f"{joined!r}; link to the real path instead"
                )


def _prefixes(name: str) -> list[str]:
    """``a``, ``a/b`` for ``a/b/c``: the directories a member is stored in."""
    parts = name.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]


def check_member(member: tarfile.TarInfo, archive: str | Path) -> str:
    """Validate one member on its own and return its normalised relative name.

    :class:`MemberChecker` adds the checks that need the earlier members (links).

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


def safe_extract(
    archive: Path, destination: Path, select: Callable[[str], bool] | None = None
) -> list[str]:
    """Extract a (gzipped) tar archive into ``destination`` after checking every member and
    the gzip stream's CRC-32 and length.

    The archive is extracted into a staging directory beside ``destination``, each member
    checked before it is written (and again by ``tarfile``'s ``data`` filter); only once the
    whole stream has been read and verified are the files moved into ``destination``. On
    any error the staging directory is removed: nothing is extracted, nothing is left behind.

    Args:
        archive: The archive.
        destination: Where its members go.
        select: Extract only the members whose normalised name it accepts (every member is
            still checked, and the whole stream verified).

    Returns:
        The normalised names of the extracted members.

    Raises:
        UnsafeArchiveError: if any member is unsafe.
        ArchiveFormatError: the file is not a gzipped or plain tar archive, or it is corrupt
            or truncated (naming the file).
    """
    from sagepipe.artifacts.errors import ArchiveFormatError
    from sagepipe.artifacts.gzipio import open_tar_stream

    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.parent / f".{destination.name}.extracting-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    checker = MemberChecker(archive)
    names: list[str] = []
    try:
        with open_tar_stream(archive) as stream:
            try:
                with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]

                    def checked() -> Iterator[tarfile.TarInfo]:
                        for member in tar:
                            name = checker.check(member)
                            if select is None or select(name):
                                names.append(name)
                                yield member

                    tar.extractall(staging, members=checked(), filter="data")
            except tarfile.TarError as exc:
                raise ArchiveFormatError(
                    f"{archive} is not a readable tar archive ({exc}); re-create it with "
                    "tar czf model.tar.gz -C DIR ."
                ) from None
            _read_to_end(stream)
        _move_into(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [n for n in names if n]


def _read_to_end(stream: object) -> None:
    """Read what ``tarfile`` left (the end-of-archive padding, the gzip trailer): a gzip
    stream is verified only once it has been read to its end."""
    scratch = memoryview(bytearray(1 << 20))
    while stream.readinto(scratch):  # type: ignore[attr-defined]
        pass


def _move_into(staging: Path, destination: Path) -> None:
    """Move the extracted tree into ``destination``, merging directories as tar does."""
    if not destination.exists():
        os.rename(staging, destination)
        return
    for entry in staging.iterdir():
        target = destination / entry.name
        if _is_real_dir(entry) and _is_real_dir(target):
            _move_into(entry, target)
            continue
        if _is_real_dir(target):
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()
        os.rename(entry, target)


def _is_real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
