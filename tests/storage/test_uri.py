from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.storage import StorageError, local_path, parse_s3
from sagepipe.storage.uri import basename, join_key


def test_parse_s3_splits_bucket_and_key() -> None:
    location = parse_s3("s3://my-bucket/a/b.txt")
    assert (location.bucket, location.key) == ("my-bucket", "a/b.txt")
    assert parse_s3("s3://my-bucket").key == ""
    assert location.child("c").uri == "s3://my-bucket/a/b.txt/c"
    assert parse_s3("s3://my-bucket/a/").as_prefix() == "a/"
    assert parse_s3("s3://my-bucket/a").as_prefix() == "a/"


@pytest.mark.parametrize("uri", ["s3://", "s3://UPPER/key", "s3://a/key", "s3://x..y/k", "/tmp/x"])
def test_parse_s3_rejects_bad_uris(uri: str) -> None:
    with pytest.raises(StorageError, match="s3://"):
        parse_s3(uri)


def test_local_path_accepts_file_uris_and_plain_paths(tmp_path: Path) -> None:
    assert local_path(f"file://{tmp_path}/a%20b") == tmp_path / "a b"
    assert local_path(str(tmp_path / "x")) == tmp_path / "x"
    assert local_path("relative").is_absolute()


@pytest.mark.parametrize(
    ("uri", "message"), [("file://host/x", "names the host"), ("gs://b/k", "unsupported scheme")]
)
def test_local_path_rejects_other_forms(uri: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        local_path(uri)


def test_key_helpers() -> None:
    assert join_key("", "a") == "a"
    assert join_key("p/", "a") == "p/a"
    assert join_key("p", "a/b") == "p/a/b"
    assert basename("s3://b/x/y/") == "y"
