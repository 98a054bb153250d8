"""The local object store: ``s3://bucket/key`` kept as ``<home>/objects/bucket/key``.

It gives S3 semantics offline: an object is either absent or complete (temp file plus
``os.replace``), listings never show in-flight writes, and deleting the last object under a
"directory" removes the directory, as S3 has none.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import BinaryIO

from sagepipe.storage.base import ObjectInfo
from sagepipe.storage.errors import ObjectNotFoundError, StorageError
from sagepipe.storage.files import atomic_copy, file_info, prune_empty_dirs, walk_files
from sagepipe.storage.uri import S3Location, parse_s3


class LocalObjectBackend:
    """``s3://`` URIs on the local filesystem under ``root`` (``<SAGEPIPE_HOME>/objects``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    def _path(self, location: S3Location, *, as_object: bool) -> Path:
        parts = location.key.split("/")
        if parts and parts[-1] == "" and not as_object:
            parts = parts[:-1]  # a trailing "/" names a prefix
        bad = [p for p in parts if p in ("", ".", "..")]
        if bad or (as_object and not parts):
            raise StorageError(
                f"{location.uri!r} cannot be stored in the local object store: keys must be "
                "non-empty and must not contain empty, '.' or '..' segments"
            )
        return self.root.joinpath(location.bucket, *parts)

    def _object_path(self, uri: str) -> Path:
        return self._path(parse_s3(uri), as_object=True)

    def _prefix_path(self, location: S3Location) -> Path:
        if not location.key:
            return self.root / location.bucket
        return self._path(location, as_object=False)

    def _uri(self, path: Path) -> str:
        relative = path.relative_to(self.root).as_posix()
        return f"s3://{relative}"

    def upload(self, local: Path, uri: str) -> None:
        dest = self._object_path(uri)
        if dest.is_dir():
            raise StorageError(
                f"cannot store {uri} in the local object store: objects exist under "
                f"{uri}/ and a local store cannot hold both; use another key"
            )
        atomic_copy(Path(local), dest)

    def download(self, uri: str, local: Path) -> None:
        path = self._object_path(uri)
        if not path.is_file():
            raise ObjectNotFoundError(uri)
        atomic_copy(path, Path(local))

    def stat(self, uri: str) -> ObjectInfo | None:
        location = parse_s3(uri)
        if not location.key or location.key.endswith("/"):
            return None
        path = self._object_path(uri)
        return file_info(path, uri) if path.is_file() else None

    def list(self, uri: str, recursive: bool) -> list[ObjectInfo]:
        location = parse_s3(uri)
        own = self.stat(uri)
        if own is not None:
            return [own]
        infos: list[ObjectInfo] = []
        for found in walk_files(self._prefix_path(location), recursive):
            if found.is_dir():
                infos.append(ObjectInfo(uri=self._uri(found) + "/", size=0, is_prefix=True))
            else:
                infos.append(file_info(found, self._uri(found)))
        return infos

    def delete_objects(self, uris: builtins.list[str]) -> int:
        deleted = 0
        for uri in uris:
            path = self._object_path(uri)
            if path.is_file():
                path.unlink()
                deleted += 1
                prune_empty_dirs(path.parent, self.root / parse_s3(uri).bucket)
        return deleted

    def open_read(self, uri: str) -> BinaryIO:
        path = self._object_path(uri)
        if not path.is_file():
            raise ObjectNotFoundError(uri)
        return path.open("rb")

    def child(self, uri: str, relative: str) -> str:
        return parse_s3(uri).child(relative).uri

    def relative(self, uri: str, base: str) -> str:
        return parse_s3(uri).key[len(parse_s3(base).as_prefix()) :]
