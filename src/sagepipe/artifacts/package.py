"""Packaging: a model archive plus inference code, streamed into a servable model.tar.gz.

A large gzipped input whose model members come first is spliced: its compressed bytes are
copied up to the end of the model members and only the rest is compressed anew (see
:mod:`sagepipe.artifacts.splice`). Otherwise the input archive is read once, member by
member, and each model member's bytes go straight into the output archive, compressed in
parallel (see :mod:`sagepipe.artifacts.gzipio`). Either way nothing is extracted to disk, an
input ``code/`` is replaced by the new one (the source dir and the dependencies), junk is
dropped, and the output is written to a temporary file next to the destination and renamed
into place only once complete and valid.

Duplicate members are rare, so they cost a second pass only when present: the first pass
notices them, and the second one writes the last occurrence of each name only.
"""

from __future__ import annotations

import logging
import os
import posixpath
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sagepipe.artifacts.codedir import (
    check_entry_point,
    code_members,
    dropped_from_input,
    write_code_members,
)
from sagepipe.artifacts.errors import ArchiveFormatError, PackagingError
from sagepipe.artifacts.gzipio import ParallelGzipWriter, open_tar_stream
from sagepipe.artifacts.layout import ArchiveEntry, LayoutReport, check_layout
from sagepipe.artifacts.safety import MODE_MASK, MemberChecker
from sagepipe.artifacts.splice import Spliced, splice_package
from sagepipe.artifacts.tarstream import TarReader, end_of_archive, header_bytes, padding

logger = logging.getLogger(__name__)

_CHUNK = 4 << 20


class PackageReport(BaseModel):
    """What packaging produced.

    Attributes:
        output: The packaged archive.
        layout: Its layout (model files, code files, entry point, requirements).
        model_members: Members copied from the input archive.
        replaced_code: Members of the input's ``code/`` that were replaced.
        dropped_junk: Junk members of the input that were dropped.
        duplicates: Names that appeared more than once in the input (the last one was kept).
        uncompressed_bytes: Size of the output tar stream.
        compressed_bytes: Size of the output file.
        spliced_bytes: Compressed bytes copied unchanged from the input (0: recompressed).
        seconds: Wall time of the packaging.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    output: str
    layout: LayoutReport
    model_members: int
    replaced_code: tuple[str, ...]
    dropped_junk: tuple[str, ...]
    duplicates: tuple[str, ...]
    uncompressed_bytes: int
    compressed_bytes: int
    spliced_bytes: int
    seconds: float


def package_model(
    model_archive: Path,
    source_dir: Path,
    entry_point: str,
    dependencies: list[Path],
    output: Path,
    compression_level: int = 6,
    threads: int | None = None,
    splice_min_bytes: int | None = None,
) -> PackageReport:
    """Write ``output``: the model files of ``model_archive`` byte for byte, plus ``code/``.

    Args:
        model_archive: The input model.tar.gz (or plain tar).
        source_dir: Directory whose contents become ``code/`` (entry point, requirements.txt,
            helpers).
        entry_point: The inference script, relative to ``source_dir``.
        dependencies: Files or directories copied to ``code/<name>``.
        output: Where to write the packaged archive (replaced atomically).
        compression_level: The gzip level (1-9) whose output size to match.
        threads: Compression threads; ``None`` for one per CPU but one (which decompresses
            the input).
        splice_min_bytes: Inputs at least this large are spliced when they can be (default
            :data:`~sagepipe.artifacts.splice.SPLICE_MIN_BYTES`).

    Raises:
        PackagingError: a wrong source dir, entry point, dependency or level; the output
            could not be written (a full disk, a file size limit).
        UnsafeArchiveError: an input member would escape the extraction directory.
        ArchiveFormatError, ArchiveLayoutError: the input is unreadable or badly laid out.
    """
    started = time.perf_counter()
    if not 1 <= compression_level <= 9:
        raise PackagingError(f"compression level must be 1-9, got {compression_level}")
    if not model_archive.is_file():
        raise PackagingError(f"model archive {model_archive} does not exist")
    check_entry_point(source_dir, entry_point)
    code = code_members(source_dir, dependencies)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        spliced = splice_package(
            model_archive, code, temporary, compression_level, min_bytes=splice_min_bytes
        )
        if spliced is not None:
            scan = _Pass.of(spliced)
        else:
            scan = _write(model_archive, code, temporary, compression_level, threads, keep=None)
        if scan.duplicates:
            logger.warning(
                "%s: members %s appear more than once; keeping the last of each",
                model_archive,
                ", ".join(scan.duplicates),
            )
            scan = _write(
                model_archive, code, temporary, compression_level, threads, keep=scan.last
            )
        # The input's own layout first: the extra-top-directory mistake is the input's.
        check_layout(scan.entries[: scan.model_members], model_archive)
        layout = check_layout(scan.entries, output, entry_point=entry_point)
        os.replace(temporary, output)
    except OSError as exc:  # a full disk, a file size limit, an I/O error
        raise PackagingError(f"packaging {model_archive} into {output} failed: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    return PackageReport(
        output=str(output),
        layout=layout,
        model_members=scan.model_members,
        replaced_code=tuple(scan.replaced_code),
        dropped_junk=tuple(scan.dropped_junk),
        duplicates=tuple(scan.duplicates),
        uncompressed_bytes=scan.uncompressed,
        compressed_bytes=scan.compressed,
        spliced_bytes=scan.spliced,
        seconds=round(time.perf_counter() - started, 3),
    )


class _Pass:
    """The outcome of one pass over the input."""

    def __init__(self) -> None:
        self.entries: list[ArchiveEntry] = []
        self.model_members = 0
        self.replaced_code: list[str] = []
        self.dropped_junk: list[str] = []
        self.duplicates: list[str] = []
        self.last: dict[str, int] = {}  # name -> index of its last occurrence
        self.uncompressed = 0
        self.compressed = 0
        self.spliced = 0

    @classmethod
    def of(cls, spliced: Spliced) -> _Pass:
        result = cls()
        result.entries = spliced.entries
        result.model_members = spliced.model_members
        result.replaced_code = spliced.replaced_code
        result.dropped_junk = spliced.dropped_junk
        result.uncompressed = spliced.uncompressed
        result.compressed = spliced.compressed
        result.spliced = spliced.copied
        return result


def _write(
    archive: Path,
    code: dict[str, Path],
    temporary: Path,
    level: int,
    threads: int | None,
    *,
    keep: dict[str, int] | None,
) -> _Pass:
    result = _Pass()
    with temporary.open("wb") as raw:
        writer = ParallelGzipWriter(raw, level=level, threads=threads)
        try:
            emit: Callable[[bytes], None] | None = writer.write
            emitted: set[str] = set()
            # The output's members are checked again as written: what this pass keeps (the
            # last of duplicates, not code/ or junk) must be safe on its own too.
            output_checker = MemberChecker(temporary)
            with open_tar_stream(archive) as stream:
                reader = TarReader(stream, archive)
                for index, info in enumerate(reader):
                    name = info.name
                    if not name or dropped_from_input(
                        name, result.replaced_code, result.dropped_junk
                    ):
                        continue
                    if info.isdir():
                        if name in emitted:
                            continue  # a repeated directory entry adds nothing
                    else:
                        if name in result.last:
                            _note_duplicate(name, result)
                            if keep is None and emit is not None:
                                # From here the first pass only scans; a second one writes.
                                writer.abort()
                                emit = None
                        result.last[name] = index
                        if keep is not None and keep[name] != index:
                            continue
                    if emit is not None:
                        clean = _clean(info, archive, emitted)
                        output_checker.check(clean)
                        _copy_member(reader, clean, emit)
                    emitted.add(name)
                    result.entries.append(ArchiveEntry.from_info(info))
                    result.model_members += 1
            if emit is None:
                return result
            result.entries.extend(write_code_members(code, emit))
            emit(end_of_archive(writer.uncompressed_size))
            result.uncompressed = writer.uncompressed_size
            result.compressed = writer.close()
        except BaseException:
            writer.abort()
            raise
    return result


def _note_duplicate(name: str, result: _Pass) -> None:
    if name not in result.duplicates:
        result.duplicates.append(name)


def _clean(info: tarfile.TarInfo, archive: Path, emitted: set[str]) -> tarfile.TarInfo:
    """A fresh header: name, type, size, mode and mtime; no owner, no vendor extensions."""
    clean = tarfile.TarInfo(info.name)
    clean.type = tarfile.REGTYPE if info.isreg() else info.type
    clean.size = info.size if info.isreg() else 0
    clean.mode = info.mode & MODE_MASK
    clean.mtime = int(info.mtime)
    clean.linkname = info.linkname
    if info.islnk():
        target = posixpath.normpath(info.linkname)
        if target not in emitted:
            raise ArchiveFormatError(
                f"{archive}: hard link {info.name!r} points to {info.linkname!r}, which is not "
                "an earlier member that is kept; store the file itself instead of a link"
            )
        clean.linkname = target
    return clean


def _copy_member(reader: TarReader, info: tarfile.TarInfo, emit: Callable[[bytes], None]) -> None:
    emit(header_bytes(info))
    while chunk := reader.read(_CHUNK):
        emit(chunk)
    emit(bytes(padding(info.size)))
