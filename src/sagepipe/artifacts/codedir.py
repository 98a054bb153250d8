"""The ``code/`` tree of a packaged model: the source dir plus dependencies, as tar members."""

from __future__ import annotations

import logging
import os
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sagepipe.artifacts.errors import PackagingError
from sagepipe.artifacts.layout import CODE_DIR, ArchiveEntry, is_junk
from sagepipe.artifacts.tarstream import header_bytes, padding

logger = logging.getLogger(__name__)

# Build leftovers that never belong in a model archive.
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 4 << 20


def check_entry_point(source_dir: Path, entry_point: str) -> None:
    """Check that ``entry_point`` is a relative path to a file inside ``source_dir``.

    Raises:
        PackagingError: naming what is wrong and what the source dir holds.
    """
    if not source_dir.is_dir():
        raise PackagingError(f"source dir {source_dir} is not a directory")
    relative = PurePosixPath(entry_point)
    if relative.is_absolute() or ".." in relative.parts or not entry_point.strip():
        raise PackagingError(
            f"entry point {entry_point!r} must be a path relative to the source dir "
            f"{source_dir}, such as inference.py"
        )
    if not (source_dir / relative).is_file():
        scripts = sorted(p.name for p in source_dir.glob("*.py"))
        raise PackagingError(
            f"entry point {entry_point!r} is not a file in {source_dir} "
            f"(Python files there: {', '.join(scripts) or 'none'})"
        )


def code_members(source_dir: Path, dependencies: list[Path]) -> dict[str, Path]:
    """Map each ``code/...`` member name to its file or directory, in archive order.

    The source dir's contents go directly under ``code/``; each dependency (a file or a
    directory) goes under ``code/<its name>``. A later entry replaces an earlier one of the
    same name, with a warning. Symbolic links are followed (their targets are copied), as
    the SageMaker SDK's repack does.

    Raises:
        PackagingError: a dependency does not exist.
    """
    members: dict[str, Path] = {CODE_DIR: source_dir}
    _add_tree(members, source_dir, CODE_DIR)
    for dependency in dependencies:
        if not dependency.exists():
            raise PackagingError(f"dependency {dependency} does not exist")
        target = f"{CODE_DIR}/{dependency.resolve().name}"
        _add(members, target, dependency)
        if dependency.is_dir():
            _add_tree(members, dependency, target)
    return members


def code_info(name: str, path: Path) -> tarfile.TarInfo:
    """The tar header of one ``code/`` member (owner root; mode and mtime from the file)."""
    info = tarfile.TarInfo(name)
    stat = path.stat()
    info.mtime = int(stat.st_mtime)
    if path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = (stat.st_mode & 0o777) | 0o555
    else:
        info.size = stat.st_size
        info.mode = (stat.st_mode & 0o777) | 0o444
    return info


def dropped_from_input(name: str, replaced_code: list[str], dropped_junk: list[str]) -> bool:
    """Whether packaging drops the input member ``name``: a member of the old ``code/`` (the
    new one replaces it) or junk (with a warning). It is recorded in the matching list."""
    if name == CODE_DIR or name.startswith(CODE_DIR + "/"):
        replaced_code.append(name)
        return True
    if is_junk(name):
        logger.warning("dropping junk member %s", name)
        dropped_junk.append(name)
        return True
    return False


def write_code_members(code: dict[str, Path], emit: Callable[[bytes], None]) -> list[ArchiveEntry]:
    """Emit the tar members of ``code`` (see :func:`code_members`); returns their entries.

    Raises:
        PackagingError: a file changed size while it was read.
    """
    entries = []
    for name, path in code.items():
        info = code_info(name, path)
        emit(header_bytes(info))
        if not info.isdir():
            with path.open("rb") as source:
                copied = 0
                while chunk := source.read(_CHUNK):
                    emit(chunk)
                    copied += len(chunk)
            if copied != info.size:
                raise PackagingError(f"{path} changed size while being packaged; try again")
            emit(bytes(padding(info.size)))
        entries.append(ArchiveEntry.from_info(info))
    return entries


def _add_tree(members: dict[str, Path], root: Path, prefix: str) -> None:
    visited: set[str] = set()
    for current, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in visited:  # a symlink loop: do not walk the same directory again
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS and not is_junk(d))
        relative = Path(current).relative_to(root).as_posix()
        base = prefix if relative == "." else f"{prefix}/{relative}"
        if base != prefix:
            _add(members, base, Path(current))
        for filename in sorted(filenames):
            if is_junk(filename) or filename.endswith(_SKIPPED_SUFFIXES):
                logger.debug("not packaging %s/%s", current, filename)
                continue
            path = Path(current, filename)
            if not path.is_file():
                logger.warning("not packaging %s: not a regular file", path)
                continue
            _add(members, f"{base}/{filename}", path)


def _add(members: dict[str, Path], name: str, path: Path) -> None:
    previous = members.get(name)
    if previous is not None and not (previous.is_dir() and path.is_dir()):
        logger.warning("%s comes from both %s and %s; the last one wins", name, previous, path)
        del members[name]  # re-insert so that the member order follows the winner
    members[name] = path
