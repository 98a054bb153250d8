"""The public :class:`Storage`: routes each URI to its backend and builds the tree operations.

``s3://`` URIs go to the chosen backend (the local object store by default, or S3);
``file://`` URIs and plain paths always go to the filesystem.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Literal, get_args

from sagepipe.errors import did_you_mean
from sagepipe.storage.base import ObjectBackend, ObjectInfo
from sagepipe.storage.errors import ObjectNotFoundError, StorageError
from sagepipe.storage.files import FileBackend, is_temp_name
from sagepipe.storage.local import LocalObjectBackend
from sagepipe.storage.s3 import S3Backend
from sagepipe.storage.uri import basename, is_s3, local_path

Backend = Literal["local", "s3"]
STORAGE_ENV = "SAGEPIPE_STORAGE"
HOME_ENV = "SAGEPIPE_HOME"


def sagepipe_home() -> Path:
    """The directory of sagepipe's local state: ``$SAGEPIPE_HOME``, else ``./.sagepipe``."""
    configured = os.environ.get(HOME_ENV)
    home = Path(configured).expanduser() if configured else Path(".sagepipe")
    return home.absolute()


class RoutedStorage:
    """A :class:`~sagepipe.storage.base.Storage` over one ``s3://`` backend and the filesystem.

    Attributes:
        backend: ``"local"`` or ``"s3"``, the backend of ``s3://`` URIs.
    """

    def __init__(self, backend: Backend, s3: ObjectBackend) -> None:
        self.backend = backend
        self._s3 = s3
        self._files = FileBackend()

    def _route(self, uri: str) -> ObjectBackend:
        return self._s3 if is_s3(uri) else self._files

    def put_file(self, local: Path, uri: str) -> None:
        self._route(uri).upload(Path(local), uri)

    def get_file(self, uri: str, local: Path) -> None:
        self._route(uri).download(uri, Path(local))

    def put_dir(self, local_dir: Path, uri_prefix: str) -> list[str]:
        root = Path(local_dir)
        if not root.is_dir():
            raise StorageError(f"{root} is not a directory; put_dir uploads a directory tree")
        backend = self._route(uri_prefix)
        uris: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if is_temp_name(name):
                    continue
                relative = Path(dirpath, name).relative_to(root).as_posix()
                uri = backend.child(uri_prefix, relative)
                backend.upload(Path(dirpath, name), uri)
                uris.append(uri)
        return uris

    def get_prefix(self, uri: str, local_dir: Path) -> list[Path]:
        backend = self._route(uri)
        target = Path(local_dir)
        if backend.stat(uri) is not None:
            dest = target / basename(uri)
            backend.download(uri, dest)
            return [dest]
        objects = [info for info in backend.list(uri, recursive=True) if not info.is_prefix]
        if not objects:
            raise ObjectNotFoundError(uri, " (no object and no objects under that prefix)")
        written: list[Path] = []
        for info in objects:
            dest = target.joinpath(*backend.relative(info.uri, uri).split("/"))
            backend.download(info.uri, dest)
            written.append(dest)
        return written

    def list(self, uri_prefix: str, recursive: bool = True) -> list[ObjectInfo]:
        return self._route(uri_prefix).list(uri_prefix, recursive)

    def exists(self, uri: str) -> bool:
        return self._route(uri).stat(uri) is not None

    def delete(self, uri: str, recursive: bool = False) -> int:
        backend = self._route(uri)
        if not recursive:
            return backend.delete_objects([uri]) if backend.stat(uri) is not None else 0
        objects = [i.uri for i in backend.list(uri, recursive=True) if not i.is_prefix]
        deleted = backend.delete_objects(objects)
        path = None if is_s3(uri) else local_path(uri)
        if path is not None and path.is_dir():
            # S3 has no directories; mirror that for plain paths emptied by a recursive delete.
            shutil.rmtree(path)
        return deleted

    def open_read(self, uri: str) -> BinaryIO:
        return self._route(uri).open_read(uri)

    def copy(self, src: str, dst: str) -> None:
        """Copy one object between any two locations (downloads to a temp file if needed)."""
        if not is_s3(src):
            self.put_file(local_path(src), dst)
        elif not is_s3(dst):
            self.get_file(src, local_path(dst))
        else:
            with tempfile.TemporaryDirectory(prefix="sagepipe-copy-") as scratch:
                temp = Path(scratch) / "object"
                self.get_file(src, temp)
                self.put_file(temp, dst)


def get_storage(backend: Backend | None = None, home: Path | None = None) -> RoutedStorage:
    """The storage for ``s3://`` URIs: the argument, else ``$SAGEPIPE_STORAGE``, else local.

    Args:
        backend: ``"local"`` (objects under ``<home>/objects``) or ``"s3"`` (boto3).
        home: The sagepipe home of the local store; default :func:`sagepipe_home`.

    Raises:
        StorageError: if the backend name is unknown.
    """
    chosen = backend or os.environ.get(STORAGE_ENV) or "local"
    choices = get_args(Backend)
    if chosen not in choices:
        source = "the storage backend" if backend else f"${STORAGE_ENV}"
        raise StorageError(
            f"{source} {chosen!r} is not one of {', '.join(choices)}{did_you_mean(chosen, choices)}"
        )
    if chosen == "s3":
        return RoutedStorage("s3", S3Backend())
    root = (home.absolute() if home is not None else sagepipe_home()) / "objects"
    return RoutedStorage("local", LocalObjectBackend(root))
