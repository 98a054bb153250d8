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
