"""The streaming tar reader agrees with tarfile on names, types, sizes and data."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.errors import ArchiveFormatError
from sagepipe.artifacts.gzipio import open_tar_stream
from sagepipe.artifacts.tarstream import TarReader, end_of_archive, header_bytes, padding

from .conftest import directory, file, hardlink, random_bytes, symlink, write_archive

MEMBERS = [
    directory("weights"),
    file("weights/a.bin", random_bytes(1536, 1)),  # a multiple of the block size
    file("weights/empty", b""),
    file("weights/" + "n" * 150, b"long name"),
    symlink("latest", "weights/a.bin"),
    symlink("l" * 130, "weights/" + "t" * 120),
    hardlink("copy.bin", "weights/a.bin"),
    file("ünïcödé.txt", "héllo".encode()),
]


@pytest.mark.parametrize(
    "tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]
)
@pytest.mark.parametrize("compression", ["gz", ""])
def test_reader_matches_tarfile(tmp_path: Path, tar_format: int, compression: str) -> None:
    members = MEMBERS if tar_format != tarfile.USTAR_FORMAT else MEMBERS[:3] + MEMBERS[4:5]
    archive = write_archive(
        tmp_path / "a.tar", members, compression=compression, tar_format=tar_format
    )
    with tarfile.open(archive, "r:*") as tar:
        expected = [
            (m.name, m.type, m.size, m.linkname, tar.extractfile(m).read() if m.isreg() else b"")  # type: ignore[union-attr]
            for m in tar
        ]

    with open_tar_stream(archive) as stream:
        reader = TarReader(stream, archive)
        got = [(m.name, m.type, m.size, m.linkname, reader.read(1 << 20)) for m in reader]

    assert got == expected


def test_pax_global_headers_apply_to_later_members(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}
    ) as tar:
        info = tarfile.TarInfo("short")
        info.size = 1
        info.pax_headers = {"path": "renamed/by/pax"}
        tar.addfile(info, io.BytesIO(b"z"))
    path = tmp_path / "g.tar"
    path.write_bytes(buffer.getvalue())

    with open_tar_stream(path) as stream:
        assert [m.name for m in TarReader(stream, path)] == ["renamed/by/pax"]


def test_sparse_members_are_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    path = tmp_path / "s.tar"
    path.write_bytes(info.tobuf(tarfile.GNU_FORMAT) + bytes(1024))

    with open_tar_stream(path) as stream, pytest.raises(ArchiveFormatError, match="sparse"):
        list(TarReader(stream, path))


def test_truncated_member_data_is_an_error(tmp_path: Path) -> None:
    info = tarfile.TarInfo("big")
    info.size = 10_000
    path = tmp_path / "t.tar"
    path.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"x" * 100)

    with open_tar_stream(path) as stream, pytest.raises(ArchiveFormatError, match="truncated"):
        list(TarReader(stream, path))


def test_written_headers_and_trailer_make_a_tar_that_tarfile_reads(tmp_path: Path) -> None:
    info = tarfile.TarInfo("x" * 200)
    info.size = 3
    stream = header_bytes(info) + b"abc" + bytes(padding(3))
    stream += end_of_archive(len(stream))
    assert len(stream) % tarfile.RECORDSIZE == 0
    path = tmp_path / "w.tar"
    path.write_bytes(stream)

    with tarfile.open(path) as tar:
        assert tar.getnames() == ["x" * 200]


class _Trickle(io.BytesIO):
    """A stream that returns at most 100 bytes per call, as a pipe may."""

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(100 if size is None or size < 0 else min(size, 100))

    def readinto(self, buffer: object, /) -> int:
        view = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        return super().readinto(view[:100])


@pytest.mark.parametrize("tar_format", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("seeking", [False, True])
def test_member_offsets_match_tarfile(tmp_path: Path, tar_format: int, seeking: bool) -> None:
    members = [*MEMBERS, file("big.bin", random_bytes(3 << 20, 3))]  # skipped by seeking
    archive = write_archive(tmp_path / "a.tar", members, compression="", tar_format=tar_format)
    data = archive.read_bytes()
    with tarfile.open(archive) as tar:
        # tarfile's offset is where a member's first header (extended ones included) starts.
        expected = [(m.offset, m.name) for m in tar.getmembers()]
    stream = _Trickle(data)
    reader = TarReader(stream, archive, seek=stream.seek if seeking else None)

    seen = []
    for info in reader:
        seen.append((reader.member_start, info.name))
        reader.read(1000)  # part of the data, in short reads; the rest is skipped

    assert [offset for offset, _ in seen] == [offset for offset, _ in expected]
    assert reader.position == len(data) == stream.tell()
    assert [name for _, name in seen] == [name.rstrip("/") for _, name in expected]
    end_of_members = expected[-1][0] + 512 + (3 << 20)
    assert reader.member_start == end_of_members  # the end-of-archive blocks
