"""The layout SageMaker expects of a model.tar.gz, checked from member headers alone.

SageMaker extracts the archive into ``/opt/ml/model``: the model files must be at the top
level and the inference code (entry point, ``requirements.txt``) under ``code/``. The classic
mistake, ``tar czvf model.tar.gz my_model/``, puts everything one directory too deep; it is an
error whose message gives the command that builds the archive right. macOS junk (``._*``,
``.DS_Store``, ``__MACOSX/``) is ignored with a warning.
"""

from __future__ import annotations

import logging
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sagepipe.artifacts.errors import ArchiveLayoutError
from sagepipe.artifacts.gzipio import open_tar_stream
from sagepipe.artifacts.tarstream import TarReader

logger = logging.getLogger(__name__)

CODE_DIR = "code"
REQUIREMENTS = "requirements.txt"
EntryKind = Literal["file", "dir", "symlink", "hardlink"]


@dataclass(frozen=True)
class ArchiveEntry:
    """One member of an archive, as the layout check sees it (name normalised)."""

    name: str
    kind: EntryKind
    size: int = 0

    @classmethod
    def from_info(cls, info: tarfile.TarInfo) -> ArchiveEntry:
        kind: EntryKind = (
            "dir"
            if info.isdir()
            else "symlink"
            if info.issym()
            else "hardlink"
            if info.islnk()
            else "file"
        )
        return cls(info.name, kind, info.size)


class LayoutReport(BaseModel):
    """What is where in a model archive.

    Attributes:
        archive: The archive checked.
        model_files: Regular files outside ``code/`` (the model).
        code_files: Regular files under ``code/``.
        directories: Directory members.
        links: Symbolic and hard link members.
        ignored: Junk members that were ignored (``._*``, ``.DS_Store``, ``__MACOSX/``).
        duplicates: Names that appear more than once (the last one wins on extraction).
        entry_point: The inference script looked for under ``code/``, if one was asked for.
        entry_point_present: Whether ``code/<entry_point>`` is in the archive (``None``
            when no entry point was asked for).
        requirements: ``code/requirements.txt`` when the archive has it.
        total_bytes: Bytes of all regular files.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    archive: str
    model_files: tuple[str, ...]
    code_files: tuple[str, ...]
    directories: tuple[str, ...]
    links: tuple[str, ...]
    ignored: tuple[str, ...]
    duplicates: tuple[str, ...]
    entry_point: str | None
    entry_point_present: bool | None
    requirements: str | None
    total_bytes: int

    @property
    def has_code(self) -> bool:
        """Whether the archive carries inference code under ``code/``."""
        return bool(self.code_files)

    def summary(self) -> str:
        """A few human-readable lines: what is where."""
        lines = [
            f"{self.archive}: {len(self.model_files)} model file(s), "
            f"{len(self.code_files)} code file(s), {self.total_bytes} bytes"
        ]
        if self.entry_point is not None:
            state = "present" if self.entry_point_present else "MISSING"
            lines.append(f"  entry point code/{self.entry_point}: {state}")
        lines.append(f"  requirements: {self.requirements or 'none'}")
        if self.ignored:
            lines.append(f"  ignored junk: {', '.join(self.ignored)}")
        return "\n".join(lines)


def is_junk(name: str) -> bool:
    """Whether ``name`` is macOS junk: ``__MACOSX/...``, ``.DS_Store`` or ``._*`` files."""
    parts = name.split("/")
    return parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or parts[-1].startswith("._")


def check_layout(
    entries: Iterable[ArchiveEntry], archive: str | Path, *, entry_point: str | None = None
) -> LayoutReport:
    """Check the layout of an archive from its entries (in archive order).

    Args:
        entries: The members, names normalised (see :class:`ArchiveEntry`).
        archive: The archive's name, for messages.
        entry_point: When given, ``code/<entry_point>`` must be present.

    Raises:
        ArchiveLayoutError: the archive is empty, everything sits under one extra top
            directory, or the entry point is missing.
    """
    kept: list[ArchiveEntry] = []
    ignored: list[str] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for entry in entries:
        if not entry.name:
            continue  # the archive root itself ("." or "./")
        if is_junk(entry.name):
            ignored.append(entry.name)
            continue
        if entry.name in seen and entry.kind != "dir" and entry.name not in duplicates:
            duplicates.append(entry.name)
        seen.add(entry.name)
        kept.append(entry)
    if ignored:
        logger.warning("%s: ignoring junk members %s", archive, ", ".join(ignored))
    if not kept:
        raise ArchiveLayoutError(
            f"{archive} holds no model files (empty, or only junk); build it with "
            "'tar czvf model.tar.gz -C DIR .' where DIR holds the model files"
        )
    _check_top_level(kept, archive)
    files = _unique(e.name for e in kept if e.kind == "file")
    code_prefix = CODE_DIR + "/"
    code_files = tuple(n for n in files if n.startswith(code_prefix))
    present = None if entry_point is None else f"{code_prefix}{entry_point}" in code_files
    if present is False:
        raise _missing_entry_point(archive, str(entry_point), code_files)
    requirements = f"{code_prefix}{REQUIREMENTS}"
    sizes = {e.name: e.size for e in kept if e.kind == "file"}
    return LayoutReport(
        archive=str(archive),
        model_files=tuple(n for n in files if not n.startswith(code_prefix)),
        code_files=code_files,
        directories=_unique(e.name for e in kept if e.kind == "dir"),
        links=_unique(e.name for e in kept if e.kind in ("symlink", "hardlink")),
        ignored=tuple(ignored),
        duplicates=tuple(duplicates),
        entry_point=entry_point,
        entry_point_present=present,
        requirements=requirements if requirements in code_files else None,
        total_bytes=sum(sizes.values()),
    )


def validate_model_archive(path: Path, *, entry_point: str | None = None) -> LayoutReport:
    """Check a model.tar.gz as the model step does, reading member headers only.

    The archive is streamed once (a gzip stream cannot be skipped through without
    decompressing it, but no member data is kept or written anywhere).

    Args:
        path: The model archive (gzip-compressed or plain tar).
        entry_point: When given, ``code/<entry_point>`` must be present.

    Raises:
        ArchiveLayoutError: see :func:`check_layout`.
        UnsafeArchiveError: a member would escape the extraction directory.
        ArchiveFormatError: the file is not a readable tar archive.
    """
    with open_tar_stream(path) as stream:
        entries = [ArchiveEntry.from_info(info) for info in TarReader(stream, path)]
    report = check_layout(entries, path, entry_point=entry_point)
    if report.duplicates:
        logger.warning(
            "%s: members %s appear more than once; the last one wins on extraction",
            path,
            ", ".join(report.duplicates),
        )
    return report


def check_serving_layout(
    entries: Iterable[ArchiveEntry],
    archive: str | Path,
    *,
    program: str,
    code_from_archive: bool,
) -> None:
    """Check that the PyTorch inference container would find the model and its code.

    The checks of :func:`check_layout` that ``sagepipe package`` makes, for a model about to be
    served, with the code taken from the archive's ``code/``: everything under one extra top
    directory, the entry point at the top level instead of under ``code/``, or ``code/``
    holding Python files but not the entry point (the container would then silently serve
    with its default handlers). An empty model or one without ``code/`` is left to the
    default handlers, which explain what they miss.

    Args:
        entries: The model's members or files (see :class:`ArchiveEntry`).
        archive: The model as the user named it, for messages.
        program: The inference script the container runs (``SAGEMAKER_PROGRAM``).
        code_from_archive: Whether the code is the model's ``code/`` (not a separate
            source directory).

    Raises:
        ArchiveLayoutError: the layout is one of the mistakes above; the message says how to
            rebuild it.
    """
    kept = [e for e in entries if e.name and not is_junk(e.name)]
    if not kept:
        return
    if not code_from_archive:
        # The code comes from elsewhere: a model_fn may well read model_dir/weights/..., so
        # one top directory is not taken for the wrapped-directory mistake.
        return
    _check_top_level(kept, archive)
    files = {e.name for e in kept if e.kind == "file"}
    code_files = tuple(sorted(n for n in files if n.startswith(CODE_DIR + "/")))
    if f"{CODE_DIR}/{program}" in code_files:
        return
    if program in files:
        raise ArchiveLayoutError(
            f"{archive}: the inference script {program} is at the top level, but SageMaker's "
            f"PyTorch inference container runs code/{program} (at the top level it would be "
            f"ignored and the default handlers used); put it under code/: sagepipe package "
            f"{archive} --source-dir DIR -o OUT.tar.gz, DIR holding {program}"
        )
    if any(n.endswith(".py") for n in code_files):
        raise _missing_entry_point(archive, program, code_files)


def directory_entries(root: Path) -> list[ArchiveEntry]:
    """The files and links of an extracted model directory, sorted by name, as an archive
    of its files would list them (directories are implied by their files, as the archive a
    directory was extracted from need not have had directory members)."""
    found = []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found.append(ArchiveEntry(name, "symlink"))
        elif path.is_file():
            found.append(ArchiveEntry(name, "file", path.stat().st_size))
    return found


def _missing_entry_point(
    archive: str | Path, entry_point: str, code_files: tuple[str, ...]
) -> ArchiveLayoutError:
    found = ", ".join(code_files) or "nothing"
    return ArchiveLayoutError(
        f"{archive} has no code/{entry_point} (code/ holds: {found}); put the inference "
        "script under code/ (sagepipe package adds it), or name the script it is with "
        "SAGEMAKER_PROGRAM"
    )


def _check_top_level(entries: list[ArchiveEntry], archive: str | Path) -> None:
    tops = {e.name.split("/", 1)[0] for e in entries}
    if len(tops) != 1:
        return
    (top,) = tops
    nested = [e.name for e in entries if e.name != top]
    lone_file = any(e.name == top and e.kind != "dir" for e in entries)
    if top == CODE_DIR or lone_file or not nested:
        return
    examples = ", ".join(nested[:3]) + (", ..." if len(nested) > 3 else "")
    raise ArchiveLayoutError(
        f"{archive}: everything is under the directory '{top}/' ({examples}); SageMaker "
        "extracts the archive into /opt/ml/model and expects the model files at the top "
        f"level and the inference code under code/. Rebuild it from inside the directory: "
        f"tar czvf model.tar.gz -C {top} ."
    )


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
