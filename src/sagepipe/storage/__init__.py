"""Storage of ``s3://`` URIs (a local object store or S3), ``file://`` URIs and plain paths.

Example:
    >>> storage = get_storage()            # $SAGEPIPE_STORAGE, else the local store
    >>> storage.put_file(Path("model.tar.gz"), "s3://bucket/models/model.tar.gz")
"""

from sagepipe.storage.base import ObjectInfo, Storage
from sagepipe.storage.errors import ObjectNotFoundError, StorageError
from sagepipe.storage.routing import RoutedStorage, get_storage, sagepipe_home
from sagepipe.storage.uri import S3Location, is_s3, local_path, parse_s3

__all__ = [
    "ObjectInfo",
    "ObjectNotFoundError",
    "RoutedStorage",
    "S3Location",
    "Storage",
    "StorageError",
    "get_storage",
    "is_s3",
    "local_path",
    "parse_s3",
    "sagepipe_home",
]
