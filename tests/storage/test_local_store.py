"""The local object store: layout, atomic writes, key rules, backend selection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sagepipe.storage import StorageError, get_storage, sagepipe_home


def test_objects_live_under_home(tmp_path: Path) -> None:
    storage = get_storage("local", home=tmp_path)
    source = tmp_path / "f.txt"
    source.write_text("x")
    storage.put_file(source, "s3://my-bucket/a/b/f.txt")
    assert (tmp_path / "objects" / "my-bucket" / "a" / "b" / "f.txt").read_text() == "x"
    storage.delete("s3://my-bucket/a/b/f.txt")
    # S3 has no directories: emptied ones go, the bucket stays.
    assert not (tmp_path / "objects" / "my-bucket" / "a").exists()
    assert (tmp_path / "objects" / "my-bucket").is_dir()


def test_env_selects_home_and_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("SAGEPIPE_STORAGE", "local")
    assert sagepipe_home() == tmp_path / "h"
    storage = get_storage()
    assert storage.backend == "local"
    source = tmp_path / "f"
    source.write_text("1")
    storage.put_file(source, "s3://bkt/k")
    assert (tmp_path / "h" / "objects" / "bkt" / "k").exists()
    monkeypatch.setenv("SAGEPIPE_STORAGE", "locall")
    with pytest.raises(StorageError, match=r"\$SAGEPIPE_STORAGE 'locall'.*did you mean 'local'"):
        get_storage()
    assert get_storage("s3").backend == "s3"  # the argument wins; no client made yet
    monkeypatch.delenv("SAGEPIPE_HOME")
    monkeypatch.chdir(tmp_path)
    assert sagepipe_home() == tmp_path / ".sagepipe"


@pytest.mark.parametrize("key", ["a/../b", "a//b", "./a", "a/", ""])
def test_bad_keys_are_rejected(tmp_path: Path, key: str) -> None:
    storage = get_storage("local", home=tmp_path / "home")
    source = tmp_path / "f"
    source.write_text("x")
    with pytest.raises(StorageError, match="key"):
        storage.put_file(source, f"s3://bucket/{key}")
    assert not (tmp_path / "home" / "objects").exists() or not any(
        p.is_file() for p in (tmp_path / "home" / "objects").rglob("*")
    )


def test_object_and_prefix_of_the_same_name_conflict(tmp_path: Path) -> None:
    storage = get_storage("local", home=tmp_path / "home")
    source = tmp_path / "f"
    source.write_text("x")
    storage.put_file(source, "s3://bucket/a/b")
    with pytest.raises(StorageError, match="objects exist under"):
        storage.put_file(source, "s3://bucket/a")
    with pytest.raises(StorageError, match="is a file"):
        storage.put_file(source, "s3://bucket/a/b/c")


def test_overwrite_replaces_whole_object(tmp_path: Path) -> None:
    storage = get_storage("local", home=tmp_path / "home")
    source = tmp_path / "f"
    source.write_text("first version, longer")
    storage.put_file(source, "s3://bucket/k")
    source.write_text("second")
    storage.put_file(source, "s3://bucket/k")
    with storage.open_read("s3://bucket/k") as reader:
        assert reader.read() == b"second"


_WRITER = """
import sys
from pathlib import Path
from sagepipe.storage import get_storage
get_storage("local", home=Path(sys.argv[1])).put_file(Path(sys.argv[2]), "s3://bucket/big.bin")
"""


@pytest.mark.slow
def test_interrupted_put_leaves_no_visible_object(tmp_path: Path) -> None:
    """Kill a writer half-way through: the old object stays, nothing partial shows."""
    home = tmp_path / "home"
    storage = get_storage("local", home=home)
    old = tmp_path / "old.bin"
    old.write_bytes(b"old")
    storage.put_file(old, "s3://bucket/big.bin")

    fifo = tmp_path / "source.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(home), str(fifo)])
    bucket_dir = home / "objects" / "bucket"
    deadline = time.monotonic() + 60
    while True:  # a non-blocking open succeeds once the writer has opened its end
        assert writer.poll() is None, "the writer exited before reading its source"
        assert time.monotonic() < deadline, "the writer never opened its source"
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            time.sleep(0.05)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as feed:
        feed.write(b"partial" * 300_000)  # more than one copy chunk: a temp file appears
        feed.flush()
        while not any(p.name.endswith(".sagepipe-tmp") for p in bucket_dir.iterdir()):
            assert writer.poll() is None, "the writer exited early"
            assert time.monotonic() < deadline, "the writer never started its temp file"
            time.sleep(0.05)
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    listed = storage.list("s3://bucket")
    assert [(info.uri, info.size) for info in listed] == [("s3://bucket/big.bin", 3)]
    with storage.open_read("s3://bucket/big.bin") as reader:
        assert reader.read() == b"old"
    assert not storage.exists("s3://bucket/.big.bin")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_source_failing_mid_copy_leaves_nothing(tmp_path: Path) -> None:
    """/proc/self/mem opens fine and fails on the first read (EIO at address 0): the temp
    file exists by then, and must vanish with no object left behind."""
    storage = get_storage("local", home=tmp_path / "home")
    with pytest.raises(StorageError, match="cannot copy /proc/self/mem"):
        storage.put_file(Path("/proc/self/mem"), "s3://bucket/mem")
    assert storage.list("s3://bucket") == []
    assert not [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
