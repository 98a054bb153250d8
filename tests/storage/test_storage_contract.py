"""The Storage contract, run against the local object store and against S3 (moto server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.storage import ObjectNotFoundError, RoutedStorage, get_storage


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[RoutedStorage, str]:
    """A storage and the ``s3://`` prefix tests may write under."""
    if request.param == "local":
        return get_storage("local", home=tmp_path / "home"), "s3://bucket-one/base"
    bucket: str = request.getfixturevalue("s3_bucket")
    return get_storage("s3"), f"s3://{bucket}/base"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_put_get_roundtrip(store: tuple[RoutedStorage, str], tmp_path: Path) -> None:
    storage, base = store
    source = tmp_path / "in.bin"
    source.write_bytes(b"\x00payload" * 1000)
    storage.put_file(source, f"{base}/dir/in.bin")
    assert storage.exists(f"{base}/dir/in.bin")
    assert not storage.exists(f"{base}/dir")
    target = tmp_path / "out" / "nested" / "copy.bin"
    storage.get_file(f"{base}/dir/in.bin", target)
    assert target.read_bytes() == source.read_bytes()
    with storage.open_read(f"{base}/dir/in.bin") as reader:
        assert reader.read(8) == b"\x00payload"
        assert len(reader.read()) == 8 * 1000 - 8


def test_put_dir_list_and_get_prefix(store: tuple[RoutedStorage, str], tmp_path: Path) -> None:
    storage, base = store
    source = tmp_path / "src"
    (source / "sub" / "deep").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("bb")
    (source / "sub" / "deep" / "c.txt").write_text("ccc")
    uris = storage.put_dir(source, f"{base}/tree")
    assert uris == [f"{base}/tree/a.txt", f"{base}/tree/sub/b.txt", f"{base}/tree/sub/deep/c.txt"]

    listed = storage.list(f"{base}/tree")
    assert [(i.uri, i.size) for i in listed] == [
        (f"{base}/tree/a.txt", 1),
        (f"{base}/tree/sub/b.txt", 2),
        (f"{base}/tree/sub/deep/c.txt", 3),
    ]
    shallow = storage.list(f"{base}/tree/", recursive=False)
    assert [(i.uri, i.is_prefix) for i in shallow] == [
        (f"{base}/tree/a.txt", False),
        (f"{base}/tree/sub/", True),
    ]
    # A prefix means a directory: "tre" is not a prefix of "tree/...".
    assert storage.list(f"{base}/tre") == []

    written = storage.get_prefix(f"{base}/tree", tmp_path / "down")
    assert sorted(written) == sorted(tmp_path / "down" / k for k in _tree(source))
    assert _tree(tmp_path / "down") == _tree(source)

    single = storage.get_prefix(f"{base}/tree/sub/b.txt", tmp_path / "one")
    assert single == [tmp_path / "one" / "b.txt"]
    assert (tmp_path / "one" / "b.txt").read_text() == "bb"


def test_delete_one_and_recursive(store: tuple[RoutedStorage, str], tmp_path: Path) -> None:
    storage, base = store
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")
    storage.put_dir(source, f"{base}/d")
    assert storage.delete(f"{base}/d/a.txt") == 1
    assert storage.delete(f"{base}/d/a.txt") == 0
    assert storage.delete(f"{base}/d") == 0  # a prefix needs recursive=True
    assert storage.delete(f"{base}/d", recursive=True) == 1
    assert storage.list(f"{base}/d") == []
    assert storage.list(base, recursive=False) == []


def test_missing_objects_raise_not_found(store: tuple[RoutedStorage, str], tmp_path: Path) -> None:
    storage, base = store
    with pytest.raises(ObjectNotFoundError, match=f"{base}/nope does not exist"):
        storage.get_file(f"{base}/nope", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".sagepipe-tmp")]
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        storage.get_prefix(f"{base}/nothing-here", tmp_path / "y")
    with pytest.raises(ObjectNotFoundError):
        storage.open_read(f"{base}/nope").close()
    assert not storage.exists(f"{base}/nope")


def test_plain_paths_and_file_uris_work_in_every_backend(
    store: tuple[RoutedStorage, str], tmp_path: Path
) -> None:
    storage, _ = store
    source = tmp_path / "a.txt"
    source.write_text("hello")
    storage.put_file(source, f"file://{tmp_path}/copies/b.txt")
    assert (tmp_path / "copies" / "b.txt").read_text() == "hello"
    storage.get_file(str(tmp_path / "copies" / "b.txt"), tmp_path / "c.txt")
    assert (tmp_path / "c.txt").read_text() == "hello"
    assert [i.uri for i in storage.list(str(tmp_path / "copies"))] == [
        str(tmp_path / "copies" / "b.txt")
    ]
    assert storage.delete(str(tmp_path / "copies"), recursive=True) == 1
    assert not (tmp_path / "copies").exists()


def test_copy_between_s3_uris(store: tuple[RoutedStorage, str], tmp_path: Path) -> None:
    storage, base = store
    source = tmp_path / "a.txt"
    source.write_text("copied")
    storage.put_file(source, f"{base}/a.txt")
    storage.copy(f"{base}/a.txt", f"{base}/b/a.txt")
    with storage.open_read(f"{base}/b/a.txt") as reader:
        assert reader.read() == b"copied"
