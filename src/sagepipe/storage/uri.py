"""Parsing of the URIs sagepipe accepts: ``s3://bucket/key``, ``file://path`` and plain paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from sagepipe.storage.errors import StorageError

# S3's rules, loosened only to accept the underscore of legacy buckets.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://bucket/key`` URI; ``key`` may be empty (the whole bucket)."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, relative: str) -> S3Location:
        """The location of ``relative`` under this one taken as a directory."""
        return S3Location(self.bucket, join_key(self.key, relative))

    def as_prefix(self) -> str:
        """The key as a directory prefix: empty, or ending with ``/``."""
        return self.key if not self.key or self.key.endswith("/") else self.key + "/"


def is_s3(uri: str) -> bool:
    """Whether ``uri`` is an ``s3://`` URI."""
    return uri.startswith("s3://")


def parse_s3(uri: str) -> S3Location:
    """Split ``s3://bucket/key`` into bucket and key.

    Raises:
        StorageError: if the URI has no valid bucket name.
    """
    if not is_s3(uri):
        raise StorageError(f"{uri!r} is not an s3:// URI; write it as s3://bucket/key")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise StorageError(
            f"{uri!r} has an invalid bucket name {bucket!r}: use 3-63 lowercase letters, "
            "digits, dots or hyphens, as in s3://my-bucket/key"
        )
    return S3Location(bucket, key)


def local_path(uri: str | Path) -> Path:
    """The filesystem path of a ``file://`` URI or a plain path (made absolute)."""
    if isinstance(uri, Path):
        return uri.absolute()
    if uri.startswith("file://"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise StorageError(
                f"{uri!r} names the host {parsed.netloc!r}; write file:///absolute/path"
            )
        return Path(unquote(parsed.path)).absolute()
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise StorageError(
            f"{uri!r} uses the unsupported scheme {scheme!r}; use s3://, file:// or a plain path"
        )
    return Path(uri).expanduser().absolute()


def join_key(prefix: str, relative: str) -> str:
    """Join an S3 key prefix and a relative key with exactly one ``/``."""
    if not prefix:
        return relative
    return prefix.rstrip("/") + "/" + relative if relative else prefix


def basename(uri: str) -> str:
    """The last component of a URI or path, ignoring a trailing ``/``."""
    return uri.rstrip("/").rsplit("/", 1)[-1]
