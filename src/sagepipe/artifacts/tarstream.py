"""Tar archives read and written as streams: one pass, member by member.

The reader understands the formats real tools write (ustar, GNU long names, pax extended and
global headers) and interprets them exactly as :mod:`tarfile` does, so what it checked is what
``tarfile`` would extract; it refuses what it does not handle (sparse members, volume headers,
unknown member types) rather than guess. Member names come back normalised and checked by
:class:`sagepipe.artifacts.safety.MemberChecker` (links against the links before them). Given
a ``seek``, the reader skips member data it is not asked for instead of reading it; whoever
must verify a checksum over every byte passes none.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from sagepipe.artifacts.errors import ArchiveFormatError
from sagepipe.artifacts.safety import MemberChecker

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"
# Types whose header is followed by `size` bytes of data (as tarfile decides it).
_DATA_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_PLAIN_TYPES = (
    *_DATA_TYPES,
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.DIRTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.FIFOTYPE,
)
_SKIP_CHUNK = 4 << 20


class ByteStream(Protocol):
    """What the reader needs of a stream: ``read`` and ``readinto`` (files, gzip readers)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readinto(self, buffer: memoryview, /) -> int | None: ...


def padding(size: int) -> int:
    """Bytes of zero padding that follow ``size`` bytes of member data."""
    return -size % BLOCK


class TarReader:
    """Reads the members of an uncompressed tar stream in order.

    Iterate to get each member's :class:`tarfile.TarInfo` (``name`` normalised, ``size`` the
    data size); read its data with :meth:`read` before advancing, or it is skipped.

    Attributes:
        position: Offset in the tar stream of the next byte to read.
        member_start: Offset of the current member's first header block (its pax or GNU
            long-name blocks included).
        member_extensions: The extended header fields that applied to the current member
            (pax keywords; ``GNU.longname`` and ``GNU.longlink`` for GNU long names).
        member_raw_name: The current member's name as stored, before normalisation.
        saw_global_header: Whether a pax global header was read so far.

    Args:
        stream: The uncompressed tar bytes (for a ``.tar.gz``, a decompressing reader).
        archive: The archive's name, for error messages.
        seek: Moves ``stream`` to an absolute offset; when given, unread member data is
            skipped with it instead of read.
    """

    def __init__(
        self,
        stream: ByteStream,
        archive: str | Path,
        *,
        seek: Callable[[int], object] | None = None,
    ) -> None:
        self._stream = stream
        self._archive = str(archive)
        self._checker = MemberChecker(archive)
        self._seek = seek
        self._remaining = 0  # data bytes of the current member not read yet
        self._pad = 0
        self._global_pax: dict[str, str] = {}
        self.position = 0
        self.member_start = 0
        self.member_extensions: tuple[str, ...] = ()
        self.member_raw_name = ""
        self.saw_global_header = False

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        while True:
            self._finish_member()
            info = self._next_header()
            if info is None:
                self._drain()
                return
            yield info

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current member's data; ``b""`` once it is all read."""
        size = min(size, self._remaining)
        if size <= 0:
            return b""
        data = self._stream.read(size)
        self.position += len(data)
        if len(data) < size:
            data += self._read_exact(size - len(data), "member data")
        self._remaining -= size
        return data

    def skip(self, size: int) -> None:
        """Pass over up to ``size`` bytes of the current member's data."""
        size = max(0, min(size, self._remaining))
        self._pass_over(size, "member data")
        self._remaining -= size

    # --- internals ------------------------------------------------------------------------

    def _finish_member(self) -> None:
        self._pass_over(self._remaining + self._pad, "member data")
        self._remaining = self._pad = 0

    def _pass_over(self, size: int, what: str) -> None:
        if self._seek is not None and size >= _SKIP_CHUNK:
            # A seek past the end of a truncated stream is not an error: the next header read
            # finds nothing, so a caller that seeks compares its stream's end with `position`.
            self._seek(self.position + size)
            self.position += size
            return
        left = size
        scratch = memoryview(bytearray(min(left, _SKIP_CHUNK)))
        while left > 0:
            got = self._stream.readinto(scratch[: min(left, len(scratch))])
            if not got:
                raise self._truncated(what)
            left -= got
            self.position += got

    def _drain(self) -> None:
        # Read past the end-of-archive blocks to the end of the stream, so that the gzip
        # reader compares every member's CRC and length: corrupt data must not pass.
        scratch = memoryview(bytearray(_SKIP_CHUNK))
        while got := self._stream.readinto(scratch):
            self.position += got

    def _read_exact(self, size: int, what: str) -> bytes:
        parts = []
        left = size
        while left > 0:
            chunk = self._stream.read(left)
            if not chunk:
                raise self._truncated(what)
            parts.append(chunk)
            left -= len(chunk)
            self.position += len(chunk)
        return b"".join(parts)

    def _truncated(self, what: str) -> ArchiveFormatError:
        return ArchiveFormatError(
            f"{self._archive}: the archive ends in the middle of {what}; it is truncated "
            "(re-create or re-download it)"
        )

    def _next_header(self) -> tarfile.TarInfo | None:
        overrides: dict[str, str] = {}
        pax: dict[str, str] = {}
        extensions: list[str] = []
        self.member_start = self.position
        while True:
            block = self._stream.read(BLOCK)
            self.position += len(block)
            if len(block) < BLOCK and block:
                block += self._read_exact(BLOCK - len(block), "a header")
            if not block or block.count(0) == BLOCK:
                if overrides or pax:
                    raise self._truncated("an extended header's member")
                return None  # end of archive: a zero block or the end of the stream
            try:
                info = tarfile.TarInfo.frombuf(block, _ENCODING, _ERRORS)
            except tarfile.HeaderError as exc:
                raise ArchiveFormatError(
                    f"{self._archive}: invalid tar header ({exc}); the file is not a tar "
                    "archive or is corrupt"
                ) from None
            if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                text = self._read_exact(info.size + padding(info.size), "a long name")
                value = text[: info.size].split(b"\0", 1)[0].decode(_ENCODING, _ERRORS)
                key = "path" if info.type == tarfile.GNUTYPE_LONGNAME else "linkpath"
                overrides.setdefault(key, value)  # the outermost extension wins, as in tarfile
                extensions.append(
                    "GNU.longname" if info.type == tarfile.GNUTYPE_LONGNAME else "GNU.longlink"
                )
                continue
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                records = self._parse_pax(
                    self._read_exact(info.size + padding(info.size), "a pax header")[: info.size]
                )
                if info.type == tarfile.XGLTYPE:
                    self._global_pax.update(records)
                    self.saw_global_header = True
                else:
                    for key, value in records.items():
                        pax.setdefault(key, value)
                    extensions.extend(records)
                continue
            self.member_extensions = tuple(extensions)
            return self._member(info, {**self._global_pax, **pax, **overrides})

    def _member(self, info: tarfile.TarInfo, extended: dict[str, str]) -> tarfile.TarInfo:
        where = f"{self._archive}: member {info.name!r}"
        if info.type not in _PLAIN_TYPES:
            raise ArchiveFormatError(
                f"{where} has tar type {info.type!r} (sparse, volume or vendor-specific), "
                "which is not supported; re-create the archive with plain files"
            )
        if any(key.startswith("GNU.sparse") for key in extended):
            raise ArchiveFormatError(f"{where} is a sparse file; re-create it without --sparse")
        for key, value in extended.items():
            try:
                if key == "path":
                    info.name = value.rstrip("/") if info.isdir() else value
                elif key == "linkpath":
                    info.linkname = value
                elif key in ("size", "uid", "gid"):
                    setattr(info, key, int(value))
                elif key == "mtime":
                    info.mtime = float(value)
            except ValueError:
                raise ArchiveFormatError(f"{where}: pax field {key}={value!r} is invalid") from None
        info.pax_headers = {}
        self.member_raw_name = info.name
        info.name = self._checker.check(info)
        if info.type in _DATA_TYPES:
            self._remaining, self._pad = info.size, padding(info.size)
        else:
            info.size = 0  # tarfile reads no data after these, whatever the header says
        return info

    def _parse_pax(self, buf: bytes) -> dict[str, str]:
        records: dict[str, str] = {}
        pos = 0
        while pos < len(buf) and buf[pos] != 0:
            space = buf.find(b" ", pos)
            try:
                length = int(buf[pos:space])
            except ValueError:
                length = 0
            end = pos + length
            if space < 0 or length <= 0 or end > len(buf) or buf[end - 1 : end] != b"\n":
                raise ArchiveFormatError(f"{self._archive}: malformed pax header record")
            key, sep, value = buf[space + 1 : end - 1].partition(b"=")
            if not sep:
                raise ArchiveFormatError(f"{self._archive}: malformed pax header record")
            records[key.decode(_ENCODING, _ERRORS)] = value.decode(_ENCODING, _ERRORS)
            pos = end
        return records


def header_bytes(info: tarfile.TarInfo) -> bytes:
    """The header block(s) of ``info`` (pax where names or sizes need it)."""
    return info.tobuf(tarfile.PAX_FORMAT, _ENCODING, _ERRORS)


def end_of_archive(written: int) -> bytes:
    """Two zero blocks, then zeros up to a whole record, as tar and tarfile end archives."""
    size = 2 * BLOCK
    size += -(written + size) % RECORD
    return bytes(size)
