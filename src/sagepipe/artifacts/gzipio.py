"""Fast gzip for model archives: an ISA-L reader and a parallel, size-aware writer.

The writer cuts the stream into blocks and compresses them on threads, each block primed with
the previous block's last 32 KiB (so matches reach across blocks) and ended with a sync flush,
so the concatenated blocks are one valid deflate stream (pigz's scheme). Per block it picks the
compressor: model weights are mostly incompressible, where ISA-L's fastest level matches
zlib's ratio at 20 times its speed; text and sparse weights compress much better with zlib's
lazy matching. A 16 KiB sample of each block, compressed both ways, decides; so the output
stays within about 1% of ``gzip -<level>`` at close to ISA-L's speed on weights.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sagepipe.artifacts.errors import ArchiveFormatError
from sagepipe.artifacts.gzipcheck import GZIP_MAGIC, VerifiedGzipReader
from sagepipe.artifacts.tarstream import ByteStream

_WINDOW = 32 * 1024
_SAMPLE = 16 * 1024
# ISA-L is kept for a block when its sample is at most this much larger than zlib's.
_TOLERANCE = 1.005
DEFAULT_BLOCK_SIZE = 4 << 20


class _CheckedStream:
    """Turns a plain tar file's read errors into an :class:`ArchiveFormatError`."""

    def __init__(self, stream: ByteStream, archive: Path) -> None:
        self._stream = stream
        self._archive = archive

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as exc:
            raise self._error(exc) from None

    def readinto(self, buffer: memoryview, /) -> int | None:
        try:
            return self._stream.readinto(buffer)
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> ArchiveFormatError:
        return ArchiveFormatError(f"cannot read the archive {self._archive}: {exc}")


@contextmanager
def open_tar_stream(path: Path) -> Iterator[ByteStream]:
    """Open a ``.tar.gz`` or a plain ``.tar`` for reading its tar stream.

    A gzip file is decompressed by :class:`~sagepipe.artifacts.gzipcheck.VerifiedGzipReader`:
    read it to its end (:class:`~sagepipe.artifacts.tarstream.TarReader` does) and every
    member's CRC-32 and length have been compared with its trailer.

    Raises:
        ArchiveFormatError: the file is missing, empty, or compressed with something else
            than gzip; later, from the stream, when it is corrupt or truncated.
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArchiveFormatError(f"cannot read the archive {path}: {exc.strerror}") from None
    with raw:
        magic = raw.read(6)
        raw.seek(0)
        if magic.startswith(GZIP_MAGIC):
            yield VerifiedGzipReader(raw, path)
        elif magic.startswith((b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")):
            raise ArchiveFormatError(
                f"{path} is compressed with bzip2, xz or zstd; SageMaker model archives are "
                "gzip-compressed tar files (tar czf model.tar.gz -C DIR .)"
            )
        elif not magic:
            raise ArchiveFormatError(
                f"{path} is empty; a model archive is a gzip-compressed tar file "
                "(tar czf model.tar.gz -C DIR .)"
            )
        else:
            yield _CheckedStream(raw, path)


def _deflate(parts: list[memoryview], zdict: bytes, level: int, last: bool, fast: bool) -> bytes:
    """Raw deflate of ``parts`` (one block), primed with ``zdict``, sync-flushed or final."""
    from isal import isal_zlib

    mode = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    # Both compressor objects have compress() and flush(); their stub types differ.
    comp: Any
    if fast:
        comp = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15, **_dictionary(zdict))
    else:
        comp = zlib.compressobj(level, zlib.DEFLATED, -15, **_dictionary(zdict))
    out = [comp.compress(part) for part in parts]
    out.append(comp.flush(mode))
    return b"".join(out)


def _dictionary(zdict: bytes) -> dict[str, Any]:
    return {"zdict": zdict} if zdict else {}


def _isal_is_enough(parts: list[memoryview], level: int) -> bool:
    """Whether ISA-L's level 1 compresses a sample of the block as well as zlib's ``level``."""
    from isal import isal_zlib

    largest = max(parts, key=len)
    if len(largest) < 4 * _SAMPLE:
        return False  # small blocks (headers, code files) are cheap for zlib
    start = len(largest) // 2 - _SAMPLE // 2
    sample = largest[start : start + _SAMPLE]
    fast = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
    fast_size = len(fast.compress(sample)) + len(fast.flush())
    ref = zlib.compressobj(level, zlib.DEFLATED, -15)
    ref_size = len(ref.compress(sample)) + len(ref.flush())
    return fast_size <= ref_size * _TOLERANCE


def _stream_tail(previous: bytes, parts: list[memoryview]) -> bytes:
    """The last 32 KiB of the stream once ``parts`` follow ``previous`` (its last 32 KiB)."""
    pieces: list[bytes] = []
    have = 0
    for part in reversed(parts):
        pieces.append(bytes(part[len(part) - min(len(part), _WINDOW - have) :]))
        have += len(pieces[-1])
        if have >= _WINDOW:
            break
    tail = b"".join(reversed(pieces))
    return tail if have >= _WINDOW else (previous + tail)[-_WINDOW:]


def deflate_final(data: bytes, zdict: bytes, level: int) -> bytes:
    """``data`` as the last block(s) of a raw deflate stream, primed with ``zdict`` (the
    stream's preceding 32 KiB), compressed as :class:`ParallelGzipWriter` compresses a block."""
    parts = [memoryview(data)]
    return _deflate(parts, zdict, level, True, _isal_is_enough(parts, level))


def default_threads() -> int:
    """Compression threads by default: one CPU is left to decompressing the input."""
    return max(1, (os.cpu_count() or 2) - 1)


class ParallelGzipWriter:
    """Writes one gzip member to ``fileobj``, compressing blocks on a thread pool.

    Blocks are compressed in parallel and written in order. Buffers given to :meth:`write`
    are kept (not copied) until their block is compressed: pass immutable ``bytes``.

    Args:
        fileobj: Open binary file to write to.
        level: The gzip level (1-9) whose output size to match.
        threads: Compression threads; ``None`` for :func:`default_threads`.
        block_size: Uncompressed bytes per block.
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        *,
        level: int = 6,
        threads: int | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        if not 1 <= level <= 9:
            raise ValueError(f"compression level must be 1-9, got {level}")
        self._file = fileobj
        self._level = level
        self._block_size = block_size
        workers = max(1, threads if threads is not None else default_threads())
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sagepipe-gzip")
        self._max_pending = 2 * workers + 2
        self._pending: deque[Future[None]] = deque()
        self._parts: list[memoryview] = []
        self._buffered = 0
        self._previous_tail = b""
        self._previous_done = threading.Event()
        self._previous_done.set()
        self._crc = 0
        self._size = 0
        self.compressed_size = 0
        self.fast_blocks = 0
        self.zlib_blocks = 0
        self._file.write(GZIP_MAGIC + b"\x08\x00" + b"\x00" * 4 + b"\x00\xff")

    @property
    def uncompressed_size(self) -> int:
        """Bytes written so far (before compression)."""
        return self._size + self._buffered

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; each full block is handed to the pool."""
        view = memoryview(data).cast("B")
        while len(view):
            take = min(len(view), self._block_size - self._buffered)
            self._parts.append(view[:take])
            self._buffered += take
            view = view[take:]
            if self._buffered == self._block_size:
                self._submit(last=False)

    def close(self) -> int:
        """Compress what is left, write the trailer; returns the compressed size."""
        self._submit(last=True)
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)
        self._file.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        self.compressed_size += 18  # gzip header and trailer
        return self.compressed_size

    def abort(self) -> None:
        """Stop compressing: drop queued blocks and wait for running ones to end."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def _submit(self, *, last: bool) -> None:
        parts, size = self._parts, self._buffered
        self._parts, self._buffered = [], 0
        zdict = self._previous_tail
        self._previous_tail = _stream_tail(zdict, parts)
        wait_for, done = self._previous_done, threading.Event()
        self._previous_done = done
        self._size += size
        self._pending.append(
            self._pool.submit(self._compress_and_write, parts, zdict, last, wait_for, done)
        )
        while len(self._pending) > self._max_pending:
            self._pending.popleft().result()

    def _compress_and_write(
        self,
        parts: list[memoryview],
        zdict: bytes,
        last: bool,
        wait_for: threading.Event,
        done: threading.Event,
    ) -> None:
        from isal import isal_zlib

        try:
            fast = bool(parts) and _isal_is_enough(parts, self._level)
            compressed = _deflate(parts, zdict, self._level, last, fast)
            # Blocks are written in order: each waits for the one before it.
            wait_for.wait()
            self._file.write(compressed)
            self.compressed_size += len(compressed)
            for part in parts:  # in stream order; ISA-L's CRC runs at memory speed
                self._crc = isal_zlib.crc32(part, self._crc)
            if fast:
                self.fast_blocks += 1
            else:
                self.zlib_blocks += 1
        finally:
            done.set()
