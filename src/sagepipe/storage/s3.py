"""The S3 backend: real S3 or any S3-compatible endpoint, through boto3.

boto3 reads the usual AWS variables (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``...). Uploads use boto3's managed transfer
(multipart above 8 MiB): S3 makes an object visible only once it is complete, so writes are
atomic. boto3 is imported on first use, never at import time.
"""

from __future__ import annotations

import builtins
import io
from pathlib import Path
from typing import Any, BinaryIO, cast

from sagepipe.storage.base import ObjectInfo
from sagepipe.storage.errors import ObjectNotFoundError, StorageError
from sagepipe.storage.files import atomic_destination
from sagepipe.storage.uri import parse_s3

_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}
_BATCH = 1000  # DeleteObjects accepts at most 1000 keys


class _BodyReader(io.RawIOBase):
    """Adapts botocore's StreamingBody to the io stack so callers get a real BinaryIO."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data: bytes = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Backend:
    """``s3://`` URIs on S3; the client is created on first use."""

    def __init__(self) -> None:
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Attempts stay configurable through AWS_MAX_ATTEMPTS.
            config = Config(retries={"mode": "standard"})
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def _error(self, exc: BaseException, uri: str, action: str) -> StorageError:
        """Translate a boto3 error into a one-line StorageError (never showing credentials)."""
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        # upload_file wraps the ClientError in S3UploadFailedError; the cause tells the code.
        cause = exc.__context__ if not isinstance(exc, ClientError) else exc
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"no AWS credentials found to {action} {uri}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY or AWS_PROFILE (or run 'aws configure'), or use "
                "--storage local to keep s3:// URIs on this machine"
            )
        if isinstance(exc, EndpointConnectionError):
            return StorageError(
                f"cannot reach the S3 endpoint {self.client.meta.endpoint_url} to {action} "
                f"{uri}; check AWS_ENDPOINT_URL, AWS_DEFAULT_REGION and the network"
            )
        if isinstance(cause, ClientError):
            code = str(cause.response.get("Error", {}).get("Code", ""))
            message = str(cause.response.get("Error", {}).get("Message", ""))
            if code in _MISSING:
                return ObjectNotFoundError(uri)
            if code == "NoSuchBucket":
                bucket = parse_s3(uri).bucket
                return StorageError(
                    f"cannot {action} {uri}: the bucket {bucket!r} does not exist at "
                    f"{self.client.meta.endpoint_url}; create it or choose another bucket"
                )
            if code in _DENIED:
                return StorageError(
                    f"access denied to {action} {uri} ({code}); check the credentials' "
                    "permissions and the bucket policy"
                )
            return StorageError(f"cannot {action} {uri}: {code} {message}".rstrip())
        return StorageError(f"cannot {action} {uri}: {exc}")

    def upload(self, local: Path, uri: str) -> None:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        location = parse_s3(uri)
        if not location.key or location.key.endswith("/"):
            raise StorageError(f"{uri!r} names a prefix, not an object; add a file name")
        if not Path(local).is_file():
            raise ObjectNotFoundError(str(local))
        try:
            self.client.upload_file(str(local), location.bucket, location.key)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise self._error(exc, uri, "upload to") from None

    def download(self, uri: str, local: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        location = parse_s3(uri)
        with atomic_destination(Path(local)) as temp:
            try:
                self.client.download_file(location.bucket, location.key, str(temp))
            except (BotoCoreError, ClientError) as exc:
                raise self._error(exc, uri, "download") from None

    def stat(self, uri: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        location = parse_s3(uri)
        if not location.key or location.key.endswith("/"):
            return None
        try:
            head = self.client.head_object(Bucket=location.bucket, Key=location.key)
        except (BotoCoreError, ClientError) as exc:
            error = self._error(exc, uri, "read")
            if isinstance(error, ObjectNotFoundError):
                return None
            raise error from None
        return ObjectInfo(
            uri=uri,
            size=int(head["ContentLength"]),
            last_modified=head["LastModified"].timestamp(),
        )

    def list(self, uri: str, recursive: bool) -> list[ObjectInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        own = self.stat(uri)
        location = parse_s3(uri)
        options: dict[str, str] = {"Bucket": location.bucket, "Prefix": location.as_prefix()}
        if not recursive:
            options["Delimiter"] = "/"
        infos = [own] if own is not None else []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**options):
                for prefix in page.get("CommonPrefixes", []):
                    infos.append(
                        ObjectInfo(f"s3://{location.bucket}/{prefix['Prefix']}", 0, is_prefix=True)
                    )
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # a console "folder" marker, not data
                    infos.append(
                        ObjectInfo(
                            uri=f"s3://{location.bucket}/{item['Key']}",
                            size=int(item["Size"]),
                            last_modified=item["LastModified"].timestamp(),
                        )
                    )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, uri, "list") from None
        return sorted(infos, key=lambda info: info.uri)

    def delete_objects(self, uris: builtins.list[str]) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        by_bucket: dict[str, list[str]] = {}
        for uri in uris:
            location = parse_s3(uri)
            by_bucket.setdefault(location.bucket, []).append(location.key)
        deleted = 0
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), _BATCH):
                batch = [{"Key": key} for key in keys[start : start + _BATCH]]
                try:
                    response = self.client.delete_objects(
                        Bucket=bucket, Delete={"Objects": batch, "Quiet": False}
                    )
                except (BotoCoreError, ClientError) as exc:
                    raise self._error(exc, f"s3://{bucket}/", "delete from") from None
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise StorageError(
                        f"cannot delete s3://{bucket}/{first['Key']}: {first['Code']} "
                        f"{first.get('Message', '')}".rstrip()
                    )
                deleted += len(response.get("Deleted", []))
        return deleted

    def open_read(self, uri: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        location = parse_s3(uri)
        try:
            body = self.client.get_object(Bucket=location.bucket, Key=location.key)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, uri, "read") from None
        return cast(BinaryIO, io.BufferedReader(_BodyReader(body), 1 << 20))

    def child(self, uri: str, relative: str) -> str:
        return parse_s3(uri).child(relative).uri

    def relative(self, uri: str, base: str) -> str:
        return parse_s3(uri).key[len(parse_s3(base).as_prefix()) :]
