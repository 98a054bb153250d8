"""Gzip integrity checked by sagepipe itself: every member's CRC-32 and length.

A decoder's own checks cannot be relied on (rapidgzip does not verify the CRC on every
machine; ``tarfile`` stops reading before the trailer, so :mod:`gzip` never compares it).
So sagepipe parses the gzip framing itself, inflates each member's raw deflate data (ISA-L,
which has no checksum of its own in this mode), computes the CRC-32 of every decoded byte and
compares it, and the length modulo 2^32, with the member's trailer. A file is accepted only
when it is one or more complete, matching members, optionally followed by zero padding (as
``gzip`` accepts); anything else is an :class:`ArchiveFormatError` naming the file.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO, cast

from sagepipe.artifacts.errors import ArchiveFormatError

GZIP_MAGIC = b"\x1f\x8b"
_DEFLATE = 8
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT, _RESERVED = 0x02, 0x04, 0x08, 0x10, 0xE0
_INPUT_CHUNK = 1 << 20
_TRAILER = 8


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """The CRC-32 (gzip's) of ``data``, continuing from ``value``; ISA-L, at memory speed."""
    from isal import isal_zlib

    return isal_zlib.crc32(data, value)


class CrcCounter:
    """The running CRC-32 and length of a stream, compared with a gzip trailer."""

    def __init__(self) -> None:
        self.crc = 0
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Account for ``data``, the next bytes of the stream."""
        self.crc = crc32(data, self.crc)
        self.size += len(data)

    def mismatch(self, trailer: bytes) -> str:
        """Why the 8-byte gzip ``trailer`` does not match the bytes counted ("" when it does)."""
        stored_crc, stored_size = struct.unpack("<II", trailer)
        if stored_crc != self.crc:
            return f"its data has CRC-32 {self.crc:#010x} but its trailer says {stored_crc:#010x}"
        if stored_size != self.size & 0xFFFFFFFF:
            return (
                f"it decodes to {self.size} bytes but its trailer says {stored_size} (modulo 2^32)"
            )
        return ""


class VerifiedGzipReader:
    """Reads the decompressed bytes of a gzip file, verifying each member as it ends.

    Use :meth:`read` or :meth:`readinto` until they return nothing: the last member's trailer
    is checked then. Every error is an :class:`ArchiveFormatError` naming ``archive``.

    Args:
        raw: The gzip file, opened for binary reading at its start.
        archive: Its name, for error messages.
    """

    def __init__(self, raw: BinaryIO, archive: object) -> None:
        from isal.igzip_lib import IsalError

        self._raw = raw
        self._archive = archive
        self._pending = b""  # input read from `raw` but not consumed yet
        self._inflater: Any = None
        self._counter = CrcCounter()
        self._members = 0
        self._done = False
        # isal's stubs declare IsalError as an instance; it is the exception class.
        self._isal_error = cast(type[BaseException], IsalError)

    @property
    def members(self) -> int:
        """Gzip members started so far."""
        return self._members

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (all that is left for a negative size);
        ``b""`` at the end, once every member has been verified."""
        if size < 0:
            parts = []
            while chunk := self.read(1 << 22):
                parts.append(chunk)
            return b"".join(parts)
        while size and not self._done:
            if self._inflater is None:
                if not self._start_member():
                    self._done = True
                    break
                continue
            if self._inflater.eof:
                self._end_member()
                continue
            data = b""
            if self._inflater.needs_input:
                data = self._input()
                if not data:
                    raise self._error(f"it ends inside gzip member {self._members}")
            try:
                out: bytes = self._inflater.decompress(data, size)
            except (self._isal_error, EOFError) as exc:
                raise self._error(f"gzip member {self._members}: {exc}") from None
            if out:
                self._counter.update(out)
                return out
        return b""

    def readinto(self, buffer: memoryview, /) -> int:
        """Fill ``buffer`` with up to ``len(buffer)`` decompressed bytes; 0 at the end."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> int:
        """Read (and verify) everything that is left; return how many bytes that was."""
        scratch = memoryview(bytearray(1 << 22))
        total = 0
        while got := self.readinto(scratch):
            total += got
        return total

    # --- internals ------------------------------------------------------------------------

    def _error(self, what: str) -> ArchiveFormatError:
        return ArchiveFormatError(
            f"{self._archive}: the gzip stream is corrupt or truncated ({what}); "
            "re-create or re-download the archive"
        )

    def _input(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        try:
            return self._raw.read(_INPUT_CHUNK)
        except OSError as exc:
            raise ArchiveFormatError(f"cannot read {self._archive}: {exc}") from None

    def _take(self, size: int, what: str) -> bytes:
        """Exactly ``size`` bytes of the framing (header or trailer)."""
        while len(self._pending) < size:
            more = self._raw.read(max(_INPUT_CHUNK, size))
            if not more:
                raise self._error(f"it ends inside {what}")
            self._pending += more
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _skip_string(self) -> None:
        """Pass over a zero-terminated header field (the file name, the comment)."""
        while (end := self._pending.find(b"\0")) < 0:
            more = self._raw.read(_INPUT_CHUNK)
            if not more:
                raise self._error("it ends inside a gzip header")
            self._pending += more
        self._pending = self._pending[end + 1 :]

    def _start_member(self) -> bool:
        """Parse the next member's header; ``False`` at the end of the file."""
        first = self._take_some()
        if not first:
            if self._members == 0:
                raise self._error("it is empty")
            return False
        if self._members and not first.startswith(GZIP_MAGIC[: len(first)]):
            self._check_padding(first)
            return False
        self._pending = first + self._pending
        header = self._take(10, "a gzip header")
        if header[:2] != GZIP_MAGIC:
            raise self._error("it does not start with the gzip magic bytes")
        method, flags = header[2], header[3]
        member = self._members + 1
        if method != _DEFLATE or flags & _RESERVED:
            raise self._error(f"gzip member {member} has method {method} and flags {flags:#x}")
        if flags & _FEXTRA:
            (length,) = struct.unpack("<H", self._take(2, "a gzip header"))
            self._take(length, "a gzip header")
        for flag in (_FNAME, _FCOMMENT):
            if flags & flag:
                self._skip_string()
        if flags & _FHCRC:
            self._take(2, "a gzip header")  # not compared, as gzip and zlib do
        from isal import igzip_lib

        self._inflater = igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_DEFLATE)
        self._counter = CrcCounter()
        self._members = member
        return True

    def _take_some(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._input()

    def _end_member(self) -> None:
        self._pending = bytes(self._inflater.unused_data) + self._pending
        self._inflater = None
        trailer = self._take(_TRAILER, f"the trailer of gzip member {self._members}")
        problem = self._counter.mismatch(trailer)
        if problem:
            raise self._error(f"gzip member {self._members}: {problem}")

    def _check_padding(self, data: bytes) -> None:
        """Zeros after the last member are padding (``gzip`` accepts them); anything else
        is not."""
        while data:
            if data.count(0) != len(data):
                raise self._error(
                    f"after gzip member {self._members} there are bytes that are neither "
                    "another member nor zero padding"
                )
            data = self._raw.read(_INPUT_CHUNK)
