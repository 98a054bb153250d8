"""Upload a compiled pipeline's code bundles and local inputs to S3.

Keys are content addresses, so an object that is already there holds the same bytes and is
not uploaded again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sagepipe.sagemaker.aws import call
from sagepipe.sagemaker.context import Upload


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def upload_all(
    s3: Any, uploads: Iterable[Upload], report: Callable[[str], None] = print
) -> list[str]:
    """Upload every planned upload that is not on S3 yet; returns the URIs written."""
    written: list[str] = []
    for upload in uploads:
        bucket, key = split_uri(upload.uri)
        existing = _existing_keys(s3, bucket, key)
        if upload.kind == "archive":
            if key not in existing:
                call(
                    f"uploading {upload.uri}",
                    s3.put_object,
                    Bucket=bucket,
                    Key=key,
                    Body=upload.bundle.archive(),
                )
                written.append(upload.uri)
            continue
        for item in upload.bundle.files:
            item_key = key + item.arcname
            if item_key in existing:
                continue
            call(
                f"uploading s3://{bucket}/{item_key}",
                s3.put_object,
                Bucket=bucket,
                Key=item_key,
                Body=upload.bundle.content(item),
            )
            written.append(f"s3://{bucket}/{item_key}")
    if written:
        report(f"uploaded {len(written)} object{'s' if len(written) != 1 else ''}")
    return written


def _existing_keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = call(f"listing s3://{bucket}/{prefix}", s3.list_objects_v2, **kwargs)
        keys.update(item["Key"] for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return keys
        token = page.get("NextContinuationToken")
