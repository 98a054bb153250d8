"""The storage interface every backend implements, and what a listing returns."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """One entry of a listing.

    Attributes:
        uri: Full URI (``s3://bucket/key``) or absolute path of the object.
        size: Size in bytes (0 for a common prefix).
        last_modified: Modification time, seconds since the epoch (0 when unknown).
        is_prefix: True for the ``PRE dir/`` entries of a non-recursive listing; their
            ``uri`` ends with ``/``.
    """

    uri: str
    size: int
    last_modified: float = 0.0
    is_prefix: bool = False


class Storage(Protocol):
    """Reads and writes objects named by ``s3://`` URIs, ``file://`` URIs or plain paths.

    Prefix arguments have directory semantics: ``s3://b/data`` means the objects under
    ``s3://b/data/`` (and, for ``list``, the object ``s3://b/data`` itself if it exists).
    """

    def put_file(self, local: Path, uri: str) -> None:
        """Upload one file; the object is either absent or complete, never partial."""
        ...

    def get_file(self, uri: str, local: Path) -> None:
        """Download one object to ``local``, atomically (a temp file renamed into place)."""
        ...

    def put_dir(self, local_dir: Path, uri_prefix: str) -> list[str]:
        """Upload every file under ``local_dir`` below ``uri_prefix``; returns their URIs."""
        ...

    def get_prefix(self, uri: str, local_dir: Path) -> list[Path]:
        """Download one object (to ``local_dir/<basename>``) or every object under a prefix
        (keeping the layout relative to it); returns the local files written."""
        ...

    def list(self, uri_prefix: str, recursive: bool = True) -> list[ObjectInfo]:
        """List the object ``uri_prefix`` and the objects under it, sorted by URI."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` names an object."""
        ...

    def delete(self, uri: str, recursive: bool = False) -> int:
        """Delete one object, or every object under a prefix; returns how many went."""
        ...

    def open_read(self, uri: str) -> BinaryIO:
        """Open an object for streaming reads; the caller closes it."""
        ...


class ObjectBackend(Protocol):
    """What one kind of location (paths, the local object store, S3) provides.

    The :class:`~sagepipe.storage.routing.RoutedStorage` builds the public
    :class:`Storage` operations from these primitives.
    """

    def upload(self, local: Path, uri: str) -> None: ...

    def download(self, uri: str, local: Path) -> None: ...

    def stat(self, uri: str) -> ObjectInfo | None: ...

    def list(self, uri: str, recursive: bool) -> list[ObjectInfo]: ...

    def delete_objects(self, uris: builtins.list[str]) -> int: ...

    def open_read(self, uri: str) -> BinaryIO: ...

    def child(self, uri: str, relative: str) -> str: ...

    def relative(self, uri: str, base: str) -> str: ...
