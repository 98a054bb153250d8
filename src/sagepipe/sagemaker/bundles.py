"""Deterministic, content-addressed bundles of files: code directories and local inputs.

A :class:`Bundle` is a sorted set of files (from disk or generated in memory). Its archive,
``sourcedir.tar.gz``, is byte-for-byte reproducible: members sorted by name, regular files
only, mtime 0, uid/gid 0, empty user and group names, mode 0644 (0755 when executable), and
gzip without a file name or timestamp. Its :attr:`Bundle.digest` is the sha256 of the
uncompressed tar stream, so the address does not depend on the zlib build that compresses it.

The same code always gives the same ``s3://<bucket>/<prefix>/code/<digest>/...`` URI, so
SageMaker's step cache hits when nothing changed (the SageMaker SDK's timestamped code paths
defeat it). Files are only read here; the user's directory is never modified.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sagepipe.sagemaker.errors import CompileError

# Build by-products that differ between runs of the same code; packing them would change the
# digest on every compile.
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_SKIPPED_FILES = frozenset({".DS_Store"})


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: ``arcname`` inside the bundle, content from ``source`` or
    ``data``."""

    arcname: str
    source: Path | None = None
    data: bytes | None = None
    executable: bool = False

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.source is None:
            raise CompileError(f"bundle file {self.arcname!r} has neither a source nor data")
        return self.source.read_bytes()


@dataclass(frozen=True)
class Bundle:
    """A sorted, content-addressed set of files.

    Attributes:
        files: The files, sorted by ``arcname``; names are unique.
        origin: Where the files come from (for messages).
    """

    files: tuple[BundleFile, ...]
    origin: str
    _contents: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, files: Iterable[BundleFile], origin: str) -> Bundle:
        ordered = sorted(files, key=lambda f: f.arcname)
        names = [f.arcname for f in ordered]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise CompileError(
                f"{origin}: the files {repeated} would be packed twice; rename one of them"
            )
        if not ordered:
            raise CompileError(f"{origin} has no files to pack")
        return cls(tuple(ordered), origin)

    def content(self, item: BundleFile) -> bytes:
        if item.arcname not in self._contents:
            self._contents[item.arcname] = item.read()
        return self._contents[item.arcname]

    @functools.cached_property
    def tar(self) -> bytes:
        """The uncompressed, deterministic tar stream."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for item in self.files:
                content = self.content(item)
                info = tarfile.TarInfo(item.arcname)
                info.size = len(content)
                info.mtime = 0
                info.mode = 0o755 if item.executable else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info, io.BytesIO(content))
        return buffer.getvalue()

    @functools.cached_property
    def digest(self) -> str:
        """sha256 (hex) of :attr:`tar`: the bundle's address."""
        return hashlib.sha256(self.tar).hexdigest()

    def archive(self) -> bytes:
        """``sourcedir.tar.gz``: :attr:`tar` gzipped with no name and mtime 0."""
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as zipped:
            zipped.write(self.tar)
        return buffer.getvalue()


def directory_files(root: Path, prefix: str = "") -> list[BundleFile]:
    """Every file under ``root`` (build by-products skipped), named ``prefix`` + its path.

    Raises:
        CompileError: ``root`` is missing, or holds a symbolic link to a directory.
    """
    if not root.is_dir():
        raise CompileError(f"{root} is not a directory")
    found: list[BundleFile] = []
    for current, directories, names in os.walk(root):
        here = Path(current)
        for name in list(directories):
            if (here / name).is_symlink():
                raise CompileError(
                    f"{here / name} is a symbolic link to a directory; sagepipe does not "
                    "follow them when packing code: copy the directory in instead"
                )
        directories[:] = sorted(d for d in directories if d not in _SKIPPED_DIRECTORIES)
        for name in sorted(names):
            if name in _SKIPPED_FILES or name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = here / name
            relative = path.relative_to(root).as_posix()
            found.append(
                BundleFile(arcname=prefix + relative, source=path, executable=_executable(path))
            )
    return found


def path_files(path: Path) -> list[BundleFile]:
    """A file (named by its base name) or a directory's files (named relative to it)."""
    if path.is_dir():
        return directory_files(path)
    if path.is_file():
        return [BundleFile(arcname=path.name, source=path, executable=_executable(path))]
    raise CompileError(f"{path} does not exist")


def dependency_files(paths: Iterable[str]) -> list[BundleFile]:
    """Extra files or directories placed at the bundle's top level under their base names
    (as the SageMaker SDK's ``dependencies`` are)."""
    found: list[BundleFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(directory_files(path, prefix=f"{path.name}/"))
        else:
            found.extend(path_files(path))
    return found


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)
