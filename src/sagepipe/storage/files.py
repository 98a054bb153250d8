"""Filesystem primitives: atomic file writes, tree listings, and the plain-path backend.

An atomic write goes to a hidden temp file beside its destination (same filesystem, so
``os.replace`` is atomic) and is renamed into place only once complete. Listings never
show temp files, so an interrupted write leaves nothing visible.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sagepipe.storage.base import ObjectInfo
from sagepipe.storage.errors import ObjectNotFoundError, StorageError
from sagepipe.storage.uri import local_path

TEMP_SUFFIX = ".sagepipe-tmp"


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of our in-flight temp files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_destination(dest: Path) -> Iterator[Path]:
    """Yield a temp path beside ``dest``; on success rename it to ``dest``, else remove it."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StorageError(
            f"cannot write {dest}: a parent of it is a file; remove it or pick another name"
        ) from None
    temp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    try:
        yield temp
        if dest.is_dir():
            raise StorageError(
                f"cannot write {dest}: it is a directory; delete it or choose another name"
            )
        os.replace(temp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` so that ``dest`` is either absent/old or complete."""
    if src.is_dir():
        raise StorageError(f"{src} is a directory; copy a directory tree recursively")
    if not src.exists():
        raise ObjectNotFoundError(str(src))
    with atomic_destination(dest) as temp:
        try:
            # Creating the temp ourselves (not mkstemp) keeps the usual umask-based mode.
            with src.open("rb") as reader, temp.open("xb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StorageError(f"cannot copy {src} to {dest}: {reason}") from None


def walk_files(root: Path, recursive: bool = True) -> list[Path]:
    """Files under ``root`` (sorted, temp files skipped); directories too when not recursive."""
    if not root.is_dir():
        return []
    if not recursive:
        return sorted(p for p in root.iterdir() if not is_temp_name(p.name))
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found.extend(Path(dirpath, name) for name in filenames if not is_temp_name(name))
    return sorted(found)


def file_info(path: Path, uri: str) -> ObjectInfo:
    stat = path.stat()
    return ObjectInfo(uri=uri, size=stat.st_size, last_modified=stat.st_mtime)


def prune_empty_dirs(start: Path, stop: Path) -> None:
    """Remove empty directories from ``start`` up to, not including, ``stop``."""
    current = start
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


class FileBackend:
    """``file://`` URIs and plain paths; listings return absolute paths."""

    def upload(self, local: Path, uri: str) -> None:
        atomic_copy(Path(local), local_path(uri))

    def download(self, uri: str, local: Path) -> None:
        atomic_copy(local_path(uri), Path(local))

    def stat(self, uri: str) -> ObjectInfo | None:
        path = local_path(uri)
        return file_info(path, str(path)) if path.is_file() else None

    def list(self, uri: str, recursive: bool) -> list[ObjectInfo]:
        path = local_path(uri)
        if path.is_file():
            return [file_info(path, str(path))]
        infos: list[ObjectInfo] = []
        for found in walk_files(path, recursive):
            if found.is_dir():
                infos.append(ObjectInfo(uri=f"{found}/", size=0, is_prefix=True))
            else:
                infos.append(file_info(found, str(found)))
        return infos

    def delete_objects(self, uris: builtins.list[str]) -> int:
        deleted = 0
        for uri in uris:
            path = local_path(uri)
            if path.is_file():
                path.unlink()
                deleted += 1
        return deleted

    def open_read(self, uri: str) -> BinaryIO:
        path = local_path(uri)
        if not path.is_file():
            raise ObjectNotFoundError(str(path))
        return path.open("rb")

    def child(self, uri: str, relative: str) -> str:
        return str(local_path(uri) / relative)

    def relative(self, uri: str, base: str) -> str:
        return Path(uri).relative_to(local_path(base)).as_posix()
