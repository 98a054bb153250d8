"""Splicing: the input's compressed bytes reused, the output a valid, identical archive.

Archives here are a few MiB with rapidgzip chunks of 64 KiB, so that they have many
checkpoints (cut points) at every bit position, as a large model has.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import io
import logging
import os
import random
import tarfile
import zlib
from pathlib import Path

import pytest
import rapidgzip

from sagepipe.artifacts import splice
from sagepipe.artifacts.errors import ArchiveFormatError
from sagepipe.artifacts.gzipio import deflate_final
from sagepipe.artifacts.package import PackageReport, package_model

from .conftest import Member, directory, file, hardlink, member_digests, names, write_archive

CHUNK = 64 * 1024


def weights(size: int, seed: int) -> bytes:
    """float32-like bytes: random mantissas, a few exponents (gzip saves a few percent)."""
    generator = random.Random(seed)
    data = bytearray(generator.randbytes(size))
    data[3::4] = bytes(generator.choices(b"<=>?", k=len(data[3::4])))
    return bytes(data)


MODEL = [
    directory("weights"),
    file("weights/model.pth", weights(3 << 20, 1)),
    file("hyperparameters.json", b'{"id_name": "id"}'),
    file("weights/extra.pth", weights(1 << 20, 2)),
]
OLD_CODE = [directory("code"), file("code/inference.py", b"OLD"), file("code/old.py", b"OLD")]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(splice, "CHUNK_SIZE", CHUNK)


def _package(
    tmp_path: Path, source: Path, archive: Path, name: str, **kwargs: object
) -> tuple[Path, PackageReport]:
    output = tmp_path / name
    report = package_model(
        archive,
        source,
        "inference.py",
        [],
        output,
        **kwargs,  # type: ignore[arg-type]
    )
    return output, report


def _assert_same_content(spliced: Path, recompressed: Path) -> None:
    assert names(spliced) == names(recompressed)
    assert member_digests(spliced) == member_digests(recompressed)
    # gzip checks the CRC and the length of every member.
    assert len(gzip.decompress(spliced.read_bytes())) % tarfile.RECORDSIZE == 0


@pytest.mark.parametrize("tail", [[], OLD_CODE, [file("._model.pth", b"junk")]])
def test_a_spliced_archive_equals_the_recompressed_one(
    tmp_path: Path, source_dir: Path, tail: list[Member]
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL + tail)

    spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    recompressed, reference = _package(
        tmp_path, source_dir, archive, "r.tar.gz", splice_min_bytes=1 << 40
    )

    assert reference.spliced_bytes == 0
    assert report.spliced_bytes > archive.stat().st_size * 0.8
    # The input's compressed bytes, as they were.
    copied = report.spliced_bytes
    assert spliced.read_bytes()[:copied] == archive.read_bytes()[:copied]
    _assert_same_content(spliced, recompressed)
    assert report.uncompressed_bytes == len(gzip.decompress(spliced.read_bytes()))
    assert report.compressed_bytes == spliced.stat().st_size
    assert report.model_members == reference.model_members == 4
    assert report.replaced_code == reference.replaced_code
    assert report.dropped_junk == reference.dropped_junk
    assert report.layout == reference.layout.model_copy(update={"archive": str(spliced)})


def test_every_checkpoint_is_a_valid_cut(tmp_path: Path) -> None:
    """Cut at each checkpoint, bridge, append the rest: the stream decodes to the original."""
    archive = write_archive(tmp_path / "model.tar.gz", MODEL)
    compressed = archive.read_bytes()
    original = gzip.decompress(compressed)
    with rapidgzip.RapidgzipFile(str(archive), parallelization=2, chunk_size=CHUNK) as stream:
        stream.seek(0, io.SEEK_END)
        checkpoints = sorted(stream.block_offsets().items())
    start_bits, start_offset = checkpoints[0]
    assert start_offset == 0 and start_bits % 8 == 0  # the first block, after the header
    residues = set()
    for bits, offset in checkpoints:
        if bits >= 8 * len(compressed):
            continue  # the end of the file
        residues.add(bits % 8)
        last = compressed[bits // 8] if bits % 8 else 0
        window = original[max(0, offset - 32 * 1024) : offset]
        body = (
            compressed[start_bits // 8 : bits // 8]
            + splice._bridge(last, bits % 8)
            + deflate_final(original[offset:], window, 6)
        )
        assert zlib.decompress(body, -15) == original, (bits, offset)
    assert len(checkpoints) > 40
    assert len(residues) >= 5 and residues & {6, 7}, residues


def test_a_cut_on_a_byte_boundary(tmp_path: Path) -> None:
    data = weights(200_000, 3)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    # A full flush ends the stream so far on a byte boundary, at a block boundary.
    head = compressor.compress(data[:100_000]) + compressor.flush(zlib.Z_FULL_FLUSH)

    body = head + splice._bridge(0, 0) + deflate_final(data[100_000:], data[68_232:100_000], 6)

    assert zlib.decompress(body, -15) == data


def _copy_file_range_to_another_filesystem(*args: int) -> int:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


@pytest.mark.parametrize(
    "kernel_copy",
    ["missing", "cross-device", "partial"],
)
def test_the_copy_falls_back_to_user_space(
    tmp_path: Path, source_dir: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: str
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL + OLD_CODE)
    expected, _ = _package(tmp_path, source_dir, archive, "kernel.tar.gz", splice_min_bytes=0)
    real_copy_file_range = os.copy_file_range
    calls = []

    def first_100_kib_then_cross_device(src: int, dst: int, count: int, *offsets: int) -> int:
        calls.append(count)
        if len(calls) == 1:  # the kernel copies part, then refuses
            return real_copy_file_range(src, dst, 100 * 1024, *offsets)
        return _copy_file_range_to_another_filesystem()

    if kernel_copy == "missing":  # not Linux
        monkeypatch.delattr(os, "copy_file_range")
    elif kernel_copy == "cross-device":
        monkeypatch.setattr(os, "copy_file_range", _copy_file_range_to_another_filesystem)
    else:
        monkeypatch.setattr(os, "copy_file_range", first_100_kib_then_cross_device)

    spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)

    assert report.spliced_bytes > 0
    assert spliced.read_bytes() == expected.read_bytes()
    assert len(calls) == (2 if kernel_copy == "partial" else 0)


def test_an_error_in_the_copy_thread_is_raised(
    tmp_path: Path, source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL)

    def broken(*args: int) -> int:
        raise RuntimeError("copy broke")

    monkeypatch.setattr(os, "copy_file_range", broken)
    with pytest.raises(RuntimeError, match="copy broke"):
        _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tar.gz", "src"]


def test_the_output_is_allocated_before_the_copy(tmp_path: Path) -> None:
    with (tmp_path / "out").open("wb") as target:
        splice._reserve(target.fileno(), 3 << 20)
        status = os.fstat(target.fileno())

    assert status.st_size == 3 << 20
    assert status.st_blocks * 512 >= 3 << 20


def test_cpus_without_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)

    assert splice._cpus() == 3


def _multi_member(path: Path, stream: bytes, split: int) -> Path:
    path.write_bytes(gzip.compress(stream[:split], 6) + gzip.compress(stream[split:], 6))
    return path


def test_a_multi_member_input_is_recompressed(
    tmp_path: Path, source_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One CRC-32 over the decoded stream verifies a single member only: with several, the
    streaming path verifies each member and recompresses."""
    plain = write_archive(tmp_path / "model.tar", MODEL + OLD_CODE, compression="")
    stream = plain.read_bytes()
    archive = _multi_member(tmp_path / "model.tar.gz", stream, 1 << 20)  # inside model.pth

    with caplog.at_level(logging.INFO, logger="sagepipe.artifacts"):
        spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    recompressed, _ = _package(tmp_path, source_dir, archive, "r.tar.gz", splice_min_bytes=1 << 40)

    assert report.spliced_bytes == 0
    assert "does not match the last trailer" in caplog.text
    _assert_same_content(spliced, recompressed)


def test_a_cut_in_an_earlier_member_falls_back(tmp_path: Path, source_dir: Path) -> None:
    plain = write_archive(tmp_path / "model.tar", MODEL + OLD_CODE, compression="")
    stream = plain.read_bytes()
    archive = _multi_member(tmp_path / "model.tar.gz", stream, len(stream) - 2048)  # after code/

    spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    recompressed, _ = _package(tmp_path, source_dir, archive, "r.tar.gz", splice_min_bytes=1 << 40)

    assert report.spliced_bytes == 0
    _assert_same_content(spliced, recompressed)


def _global_header_archive(path: Path) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x"}) as tar:
        for member in MODEL:
            info = tarfile.TarInfo(member.name)
            info.type, info.mode, info.size = member.type, member.mode, len(member.data)
            tar.addfile(info, io.BytesIO(member.data))
    return path


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        (OLD_CODE + MODEL, "follows a dropped member"),
        ([*MODEL, file("hyperparameters.json", b"{}")], "more than once"),
        ([*MODEL, hardlink("copy.pth", "weights/model.pth")], "is a link"),
        ([*MODEL, Member("run.sh", b"#!/bin/sh\n", mode=0o4755)], "special permission bits"),
        ([*MODEL, file("weights//other.pth", b"x")], "is stored as"),
        (None, "pax global header"),
        ([file("a.pth", weights(600_000, 5)), file("b.pth", weights(600_000, 6))], "to sample"),
    ],
)
def test_unusual_archives_are_recompressed(
    tmp_path: Path,
    source_dir: Path,
    caplog: pytest.LogCaptureFixture,
    members: list[Member] | None,
    reason: str,
) -> None:
    archive = tmp_path / "model.tar.gz"
    if members is None:
        _global_header_archive(archive)
    else:
        write_archive(archive, members)

    with caplog.at_level(logging.INFO, logger="sagepipe.artifacts"):
        spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)

    assert report.spliced_bytes == 0
    assert reason in caplog.text
    recompressed, _ = _package(tmp_path, source_dir, archive, "r.tar.gz", splice_min_bytes=1 << 40)
    _assert_same_content(spliced, recompressed)


def test_an_input_compressed_worse_than_the_level_is_recompressed(
    tmp_path: Path, source_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = b"".join(b"feature_%d,%d,cat_%d\n" % (i, i * 7 % 1000, i % 13) for i in range(200_000))
    plain = write_archive(tmp_path / "model.tar", [file("vocab.csv", text)], compression="")
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(gzip.compress(plain.read_bytes(), 1))

    with caplog.at_level(logging.INFO, logger="sagepipe.artifacts"):
        _, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    _, level_one = _package(
        tmp_path, source_dir, archive, "one.tar.gz", splice_min_bytes=0, compression_level=1
    )

    assert report.spliced_bytes == 0 and "worse than gzip -6" in caplog.text
    assert report.compressed_bytes < archive.stat().st_size * 0.9
    assert level_one.spliced_bytes > 0  # as good as what was asked for


def test_a_corrupt_input_is_refused(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL)
    corrupted = bytearray(archive.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0x01  # one bit: only the CRC can tell
    archive.write_bytes(bytes(corrupted))

    with pytest.raises(ArchiveFormatError, match="corrupt"):
        _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    assert not (tmp_path / "s.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_truncated_input_is_refused(tmp_path: Path, source_dir: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", MODEL)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    with pytest.raises(ArchiveFormatError, match="corrupt or truncated"):
        _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)
    assert not (tmp_path / "s.tar.gz").exists()


def test_a_suffix_that_does_not_match_the_input_falls_back(
    tmp_path: Path,
    source_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = b"".join(b"token_%d %d\n" % (i % 5000, i % 7) for i in range(200_000))
    archive = write_archive(tmp_path / "model.tar.gz", [*MODEL, file("vocab.txt", text)])
    scan_archive = splice._scan_archive

    def wrong_window(path: Path, size: int, chunk_size: int) -> tuple[object, ...]:
        scan, cut = scan_archive(path, size, chunk_size)
        # As if the window were misread.
        return scan, dataclasses.replace(cut, window=bytes(len(cut.window)))

    monkeypatch.setattr(splice, "_scan_archive", wrong_window)
    with caplog.at_level(logging.INFO, logger="sagepipe.artifacts"):
        spliced, report = _package(tmp_path, source_dir, archive, "s.tar.gz", splice_min_bytes=0)

    assert report.spliced_bytes == 0 and "did not verify" in caplog.text
    monkeypatch.setattr(splice, "_scan_archive", scan_archive)
    reference, _ = _package(tmp_path, source_dir, archive, "r.tar.gz", splice_min_bytes=0)
    _assert_same_content(spliced, reference)
