"""``model/`` -> ``model.tar.gz``: deterministic tar, fast gzip (ISA-L through ``isal``).

Members are relative to the source directory (``model.pth``, ``code/inference.py``), in
sorted order, with normalised owners, modes and times, so the same files always give the
same bytes (which keeps content-hash caches stable).
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from sagepipe.storage.files import atomic_destination
from sagepipe.training.errors import TrainingJobError

_COMPRESS_LEVEL = 1  # isal levels are 0-3; 1 is far faster than zlib -6 at a similar ratio


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    if info.isdir() or info.mode & 0o111:
        info.mode = 0o755
    else:
        info.mode = 0o644
    return info


def _entries(src_dir: Path) -> list[Path]:
    entries: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(src_dir):
        dirnames.sort()
        base = Path(dirpath)
        entries.extend(base / name for name in dirnames)
        entries.extend(base / name for name in filenames)
    return sorted(entries, key=lambda p: p.relative_to(src_dir).as_posix())


def make_archive(src_dir: Path, dest: Path) -> Path:
    """Write every file and directory under ``src_dir`` into the gzipped tar ``dest``.

    The archive appears atomically (temp file, then rename). Symbolic links are stored as
    links when they point inside ``src_dir`` and rejected otherwise.

    Returns:
        ``dest``.

    Raises:
        TrainingJobError: if ``src_dir`` is not a directory or holds an escaping link.
    """
    from isal import igzip

    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise TrainingJobError(f"cannot archive {src_dir}: it is not a directory")
    root = src_dir.resolve()
    with (
        atomic_destination(Path(dest)) as temp, temp.open("xb") as raw,
        igzip.IGzipFile(  # type: ignore[no-untyped-call]
            filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=_COMPRESS_LEVEL
        ) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):  # fmt: skip
        for path in _entries(src_dir):
            name = path.relative_to(src_dir).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if target != root and root not in target.parents:
                    raise TrainingJobError(
                        f"cannot archive {src_dir}: {name} links outside it to {target}; "
                        "copy the file in instead"
                    )
            tar.add(path, arcname=name, recursive=False, filter=_normalise)
    return Path(dest)
