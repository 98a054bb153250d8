"""Whether a process still runs: one answer for every place that records a pid (the run
store's engine and step processes, local endpoints, background training jobs)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def process_alive(pid: int | None) -> bool:
    """True while ``pid`` names a running process other than this one.

    A child of ours that exited is reaped first (it would linger as a zombie), and a zombie
    nobody reaped yet counts as ended.
    """
    if pid is None or pid == os.getpid():
        return False
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        # "pid (comm) STATE ...": a zombie is not a running process.
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/PID/stat`` field 22); with the
    pid it names one process, as a recycled pid starts later. ``None`` without ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[-1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def process_running(pid: int | None, start_time: int | None) -> bool:
    """True while the process ``pid`` that started at ``start_time`` still runs (a recorded
    start time of ``None``, from an older record, checks the pid alone)."""
    if not process_alive(pid):
        return False
    if start_time is None or pid is None:
        return True
    return process_start_time(pid) in (start_time, None)
