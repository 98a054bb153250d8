"""S3-only behaviour, against moto's standalone server over HTTP."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sagepipe.storage import StorageError, get_storage


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_multipart_upload_and_download_roundtrip(s3_bucket: str, tmp_path: Path) -> None:
    # Above boto3's 8 MiB threshold, so the managed transfer goes multipart.
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(9 * 1024 * 1024))
    storage = get_storage("s3")
    storage.put_file(source, f"s3://{s3_bucket}/big.bin")
    (info,) = storage.list(f"s3://{s3_bucket}/big.bin")
    assert info.size == source.stat().st_size
    storage.get_file(f"s3://{s3_bucket}/big.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "big.bin"]


def test_missing_bucket_says_so(s3_environ: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_text("x")
    with pytest.raises(StorageError, match="the bucket 'no-such-bucket-xyz' does not exist"):
        get_storage("s3").put_file(source, "s3://no-such-bucket-xyz/k")
    with pytest.raises(StorageError, match="no-such-bucket-xyz"):
        get_storage("s3").list("s3://no-such-bucket-xyz/prefix")


def test_no_credentials_gives_one_line_hint(
    s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    source = tmp_path / "f"
    source.write_text("x")
    with pytest.raises(StorageError) as caught:
        get_storage("s3").put_file(source, "s3://some-bucket/k")
    message = str(caught.value)
    assert "no AWS credentials" in message and "AWS_ACCESS_KEY_ID" in message
    assert "\n" not in message


def test_unreachable_endpoint(
    s3_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    endpoint = f"http://127.0.0.1:{unused_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(StorageError, match=f"cannot reach the S3 endpoint {endpoint}"):
        get_storage("s3").exists("s3://some-bucket/k")
    assert not (tmp_path / "x").exists()
