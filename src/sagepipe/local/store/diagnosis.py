"""Why a write to the run store failed, in the operating system's words; and the space
kept so that a run can still record how it ended on a full disk.

SQLite reports a full disk as "database or disk is full" and a file-size limit as "disk I/O
error": the errno is lost. After a failed write we ask the file system directly, with a
probe file next to the database that costs no space once removed: growing it past the
database's largest file (no blocks allocated) meets a file-size limit (``EFBIG``), and
allocating a few blocks meets a full disk (``ENOSPC``) or a read-only one.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

_PROBE_BYTES = 64 * 1024
_SQLITE_SUFFIXES = ("", "-wal", "-journal")
_RESERVE_SUFFIX = "-reserve"
#: Room for the last writes of a run (its end, its steps' ends) once the disk is full.
RESERVE_BYTES = 1024 * 1024


def keep_reserve(database: Path) -> None:
    """Keep :data:`RESERVE_BYTES` of disk next to ``database`` (``runs.db-reserve``), for
    :func:`release_reserve` to give back when the disk is full. Best effort: where the
    space cannot be kept, a full disk may leave the last writes unrecorded."""
    reserve = Path(f"{database}{_RESERVE_SUFFIX}")
    try:
        if reserve.stat().st_size >= RESERVE_BYTES:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return
    try:
        handle = os.open(reserve, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        _allocate(handle, RESERVE_BYTES)
    except OSError:
        os.close(handle)
        reserve.unlink(missing_ok=True)  # a half-kept reserve would hide the shortage
        return
    os.close(handle)


def release_reserve(database: Path) -> None:
    """Give back the space kept by :func:`keep_reserve` (the disk is full)."""
    try:
        Path(f"{database}{_RESERVE_SUFFIX}").unlink(missing_ok=True)
    except OSError:
        return


def write_failure_cause(database: Path) -> OSError | None:
    """The OS error a write next to ``database`` meets now, or ``None`` if writes work.

    Args:
        database: The SQLite database whose write failed.
    """
    largest = 0
    for suffix in _SQLITE_SUFFIXES:
        try:
            largest = max(largest, os.stat(f"{database}{suffix}").st_size)
        except OSError:
            continue
    try:
        handle, name = tempfile.mkstemp(prefix=".sagepipe-probe-", dir=database.parent)
    except OSError as exc:
        return exc
    try:
        os.ftruncate(handle, largest + _PROBE_BYTES)
        os.ftruncate(handle, 0)
        _allocate(handle, _PROBE_BYTES)
    except OSError as exc:
        return exc
    finally:
        os.close(handle)
        os.unlink(name)
    return None


def _allocate(handle: int, size: int) -> None:
    """Reserve ``size`` bytes of real blocks (writing zeros where fallocate is missing)."""
    try:
        os.posix_fallocate(handle, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    os.write(handle, bytes(size))
    os.fsync(handle)
