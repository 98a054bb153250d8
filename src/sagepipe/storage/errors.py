"""Errors of the storage layer."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class StorageError(SagepipeError):
    """A storage operation failed: missing object, bad URI, unreachable or unauthorised S3."""


class ObjectNotFoundError(StorageError):
    """The URI names no object (and, where a prefix was acceptable, no prefix either)."""

    def __init__(self, uri: str, hint: str = "") -> None:
        self.uri = uri
        super().__init__(f"{uri} does not exist{hint}")
