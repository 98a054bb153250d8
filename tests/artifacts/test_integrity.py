"""Gzip integrity: a corrupt, truncated or padded-with-garbage archive is refused by every
reader, below and above the splice threshold, by checks that sagepipe itself makes.

Archives are a few MiB; the splice threshold is lowered (``splice_min_bytes=0``) and
rapidgzip's chunks made small so that the splicing path runs on them as on a large model.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import tarfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import rapidgzip

from sagepipe.artifacts import splice
from sagepipe.artifacts.errors import ArchiveFormatError
from sagepipe.artifacts.layout import validate_model_archive
from sagepipe.artifacts.package import package_model
from sagepipe.artifacts.safety import safe_extract

from .conftest import directory, file, random_bytes, write_archive

CHUNK = 64 * 1024
SPLICED = 0  # splice_min_bytes: every input is spliced when it can be
RECOMPRESSED = 1 << 40  # no input is
PATHS = pytest.mark.parametrize("min_bytes", [SPLICED, RECOMPRESSED], ids=["spliced", "streamed"])


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(splice, "CHUNK_SIZE", CHUNK)


def _weights(size: int, seed: int) -> bytes:
    data = bytearray(random_bytes(size, seed))
    data[3::4] = bytes(len(data[3::4]))  # compressible enough to be spliced
    return bytes(data)


MODEL = [
    directory("weights"),
    file("weights/model.pth", _weights(3 << 20, 1)),
    file("hyperparameters.json", b'{"id_name": "id"}'),
]


def _archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "model.tar.gz", MODEL)


def _deflate_start(data: bytes) -> int:
    """Where the deflate data begins: after the header and the file name tarfile writes."""
    assert data[3] & ~0x08 == 0  # no optional field but the name
    return data.index(b"\0", 10) + 1 if data[3] & 0x08 else 10


def _flip_deflate_bit(archive: Path) -> None:
    """One bit in the middle of the deflate data, where it still decodes, to other bytes."""
    data = bytearray(archive.read_bytes())
    original = gzip.decompress(bytes(data))
    start = _deflate_start(bytes(data))
    for offset in range(len(data) // 2, len(data) // 2 + 200):
        data[offset] ^= 0x01
        decoder = zlib.decompressobj(-15)
        try:
            decoded = decoder.decompress(bytes(data[start:]))
        except zlib.error:
            decoded = b""
        if decoder.eof and len(decoded) == len(original) and decoded != original:
            archive.write_bytes(bytes(data))
            return  # only the CRC can tell
        data[offset] ^= 0x01
    raise AssertionError("no bit flip that decodes silently")


def _set_trailer(archive: Path, *, crc_xor: int = 0, size_delta: int = 0) -> None:
    data = bytearray(archive.read_bytes())
    crc, size = struct.unpack("<II", data[-8:])
    data[-8:] = struct.pack("<II", crc ^ crc_xor, (size + size_delta) & 0xFFFFFFFF)
    archive.write_bytes(bytes(data))


def _package(tmp_path: Path, source_dir: Path, archive: Path, min_bytes: int) -> Path:
    output = tmp_path / "out" / "packaged.tar.gz"
    package_model(archive, source_dir, "inference.py", [], output, splice_min_bytes=min_bytes)
    return output


def _assert_refused(tmp_path: Path, source_dir: Path, archive: Path, min_bytes: int) -> str:
    with pytest.raises(ArchiveFormatError) as caught:
        _package(tmp_path, source_dir, archive, min_bytes)
    message = str(caught.value)
    assert str(archive) in message and "\n" not in message
    assert not (tmp_path / "out" / "packaged.tar.gz").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # no temporary left
    return message


@PATHS
def test_a_bit_flipped_in_the_deflate_data_is_refused(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    archive = _archive(tmp_path)
    _flip_deflate_bit(archive)

    message = _assert_refused(tmp_path, source_dir, archive, min_bytes)
    assert "CRC-32" in message


@PATHS
def test_a_wrong_crc_in_the_trailer_is_refused(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    archive = _archive(tmp_path)
    _set_trailer(archive, crc_xor=1)

    assert "CRC-32" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


@PATHS
def test_a_wrong_length_in_the_trailer_is_refused(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    archive = _archive(tmp_path)
    _set_trailer(archive, size_delta=512)

    assert "trailer says" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


@PATHS
@pytest.mark.parametrize("keep", [0.5, 0.999, -4])
def test_a_truncated_archive_is_refused(
    tmp_path: Path, source_dir: Path, min_bytes: int, keep: float
) -> None:
    archive = _archive(tmp_path)
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[: int(keep)])

    assert "truncated" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


@PATHS
def test_trailing_garbage_is_refused_and_zero_padding_accepted(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    archive = _archive(tmp_path)
    pristine = archive.read_bytes()
    archive.write_bytes(pristine + bytes(1024))
    assert _package(tmp_path, source_dir, archive, min_bytes).is_file()

    archive.write_bytes(pristine + b"garbage")
    shutil.rmtree(tmp_path / "out")
    (tmp_path / "out").mkdir()
    assert "neither another member" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


@PATHS
def test_a_corrupt_second_gzip_member_is_refused(
    tmp_path: Path, source_dir: Path, min_bytes: int
) -> None:
    plain = write_archive(tmp_path / "model.tar", MODEL, compression="")
    stream = plain.read_bytes()
    second = bytearray(gzip.compress(stream[1 << 20 :], 6))
    second[-8] ^= 0x01
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(gzip.compress(stream[: 1 << 20], 6) + bytes(second))

    assert "gzip member 2" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


def test_a_valid_multi_member_archive_is_read_whole(tmp_path: Path) -> None:
    from sagepipe.artifacts.gzipcheck import VerifiedGzipReader

    stream = write_archive(tmp_path / "model.tar", MODEL, compression="").read_bytes()
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(
        b"".join(gzip.compress(stream[i : i + 700_000]) for i in range(0, len(stream), 700_000))
    )
    with archive.open("rb") as raw:
        reader = VerifiedGzipReader(raw, archive)
        assert reader.read() == stream
        assert reader.members == 5


@pytest.mark.parametrize("flags", [0x04, 0x08, 0x10, 0x02 | 0x08])
def test_optional_header_fields_are_skipped(tmp_path: Path, flags: int) -> None:
    from sagepipe.artifacts.gzipcheck import VerifiedGzipReader

    body = gzip.compress(b"payload" * 1000)
    extra = b""
    if flags & 0x04:
        extra += struct.pack("<H", 4) + b"ab\x00\x00"
    if flags & 0x08:
        extra += b"model.tar\x00"
    if flags & 0x10:
        extra += b"a comment\x00"
    if flags & 0x02:
        extra += b"\x00\x00"
    path = tmp_path / "x.gz"
    path.write_bytes(body[:3] + bytes([flags]) + body[4:10] + extra + body[10:])
    with path.open("rb") as raw:
        assert VerifiedGzipReader(raw, path).read() == b"payload" * 1000


# --- the checks are sagepipe's ----------------------------------------------------------------


@PATHS
def test_the_crc_comparison_is_sagepipes(
    tmp_path: Path, source_dir: Path, min_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sagepipe's CRC-32 function made wrong, a valid archive is refused on both paths:
    what decides is sagepipe's comparison, not a decoder's."""
    from sagepipe.artifacts import gzipcheck

    archive = _archive(tmp_path)
    real = gzipcheck.crc32
    monkeypatch.setattr(gzipcheck, "crc32", lambda data, value=0: real(data, value) ^ 0x80)

    assert "CRC-32" in _assert_refused(tmp_path, source_dir, archive, min_bytes)


class _TrailerBlindRapidgzip:
    """rapidgzip as on a machine where it does not verify the CRC: it decodes a copy of the
    archive whose trailer is right, so nothing it does can notice the wrong one."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        pristine = Path(path).with_name("pristine.tar.gz")
        self._file = _REAL_RAPIDGZIP(str(pristine), **kwargs)

    def __enter__(self) -> Any:
        return self._file.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._file.__exit__(*exc)


_REAL_RAPIDGZIP = rapidgzip.RapidgzipFile


def test_splicing_refuses_a_bad_crc_that_its_decoder_does_not_see(
    tmp_path: Path, source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path)
    shutil.copy(archive, tmp_path / "pristine.tar.gz")
    _set_trailer(archive, crc_xor=1)
    monkeypatch.setattr(rapidgzip, "RapidgzipFile", _TrailerBlindRapidgzip)

    assert "CRC-32" in _assert_refused(tmp_path, source_dir, archive, SPLICED)


def test_the_streaming_decoder_has_no_checksum_of_its_own(tmp_path: Path) -> None:
    """The deflate decoder sagepipe streams with decodes a wrong-trailer archive without a
    complaint: the refusal comes from the comparison in VerifiedGzipReader."""
    from isal import igzip_lib

    from sagepipe.artifacts.gzipcheck import VerifiedGzipReader

    archive = _archive(tmp_path)
    _set_trailer(archive, crc_xor=1)
    data = archive.read_bytes()
    raw = igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_DEFLATE)
    assert len(raw.decompress(data[_deflate_start(data) :])) > 0 and raw.eof
    with archive.open("rb") as handle, pytest.raises(ArchiveFormatError, match="CRC-32"):
        VerifiedGzipReader(handle, archive).drain()


# --- every reader -------------------------------------------------------------------------------


def test_layout_validation_refuses_a_corrupt_archive(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    _flip_deflate_bit(archive)
    with pytest.raises(ArchiveFormatError, match="CRC-32"):
        validate_model_archive(archive)


@pytest.mark.parametrize("damage", ["deflate", "crc", "size", "truncated", "garbage"])
@pytest.mark.parametrize("existing", [False, True])
def test_safe_extract_refuses_and_extracts_nothing(
    tmp_path: Path, damage: str, existing: bool
) -> None:
    archive = _archive(tmp_path)
    if damage == "deflate":
        _flip_deflate_bit(archive)
    elif damage == "crc":
        _set_trailer(archive, crc_xor=1)
    elif damage == "size":
        _set_trailer(archive, size_delta=1)
    elif damage == "truncated":
        archive.write_bytes(archive.read_bytes()[:-100_000])
    else:
        archive.write_bytes(archive.read_bytes() + b"\x01garbage")
    target = tmp_path / "work" / "model"
    if existing:
        target.mkdir(parents=True)
        (target / "kept.txt").write_text("before")

    with pytest.raises(ArchiveFormatError, match="corrupt or truncated") as caught:
        safe_extract(archive, target)

    assert str(archive) in str(caught.value)
    left = sorted(str(p.relative_to(tmp_path / "work")) for p in (tmp_path / "work").rglob("*"))
    assert left == (["model", "model/kept.txt"] if existing else [])


def test_safe_extract_of_a_sound_archive_into_a_non_empty_directory(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    target = tmp_path / "model"
    (target / "weights").mkdir(parents=True)
    (target / "weights" / "old.bin").write_text("old")
    (target / "model.tar.gz").write_bytes(archive.read_bytes())

    names = safe_extract(target / "model.tar.gz", target)

    assert names == ["weights", "weights/model.pth", "hyperparameters.json"]
    assert (target / "weights" / "old.bin").read_text() == "old"
    assert (target / "weights" / "model.pth").read_bytes() == MODEL[1].data
    assert not list(tmp_path.glob(".*extracting*"))


def test_a_plain_tar_is_extracted_and_a_non_tar_refused(tmp_path: Path) -> None:
    plain = write_archive(tmp_path / "model.tar", MODEL, compression="")
    assert "hyperparameters.json" in safe_extract(plain, tmp_path / "a")
    empty = tmp_path / "empty.tar.gz"
    empty.write_bytes(b"")
    with pytest.raises(ArchiveFormatError, match="empty"):
        safe_extract(empty, tmp_path / "b")
    text = tmp_path / "notes.tar.gz"
    text.write_bytes(b"just some text, long enough to fill a tar header? no." * 20)
    with pytest.raises(ArchiveFormatError, match="not a readable tar archive"):
        safe_extract(text, tmp_path / "c")
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_tarfile_alone_does_not_notice(tmp_path: Path) -> None:
    """Why sagepipe checks: tarfile stops at the end-of-archive blocks, before the trailer."""
    archive = _archive(tmp_path)
    _set_trailer(archive, crc_xor=1)
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile("weights/model.pth")
        assert member is not None and member.read() == MODEL[1].data
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(archive.read_bytes())


@pytest.mark.parametrize(
    "data",
    [
        b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xffmodel.t",
        b"\x1f\x8b\x08",
        b"\x1f\x8b\x07" + bytes(7),
    ],
    ids=["inside-the-name", "inside-the-header", "not-deflate"],
)
def test_a_broken_header_is_refused(tmp_path: Path, data: bytes) -> None:
    from sagepipe.artifacts.gzipcheck import VerifiedGzipReader

    path = tmp_path / "x.tar.gz"
    path.write_bytes(data)
    with path.open("rb") as raw, pytest.raises(ArchiveFormatError, match=r"x\.tar\.gz"):
        VerifiedGzipReader(raw, path).drain()


def test_extraction_relies_on_sagepipes_crc_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagepipe.artifacts import gzipcheck

    archive = _archive(tmp_path)
    real = gzipcheck.crc32
    monkeypatch.setattr(gzipcheck, "crc32", lambda data, value=0: real(data, value) ^ 0x80)

    with pytest.raises(ArchiveFormatError, match="CRC-32"):
        safe_extract(archive, tmp_path / "model")
    assert not (tmp_path / "model").exists()
