"""Whether a process still runs: one answer for every place that records a pid (the run
store's engine and step processes, local endpoints, background training jobs); and child
processes that die with their parent."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


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


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``); ``False`` where that is not available.

    The kernel sends it when the *thread* that started this process ends, and not if the
    parent is already gone: check ``os.getppid()`` after the call.
    """
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def dies_with_parent(signum: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``signum`` when the
    process starting it dies (``None`` where that is not available). libc is looked up here,
    in the parent: the child between fork and exec must not load libraries."""
    prctl = _prctl()
    if prctl is None:
        return None

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)

    return set_signal


def kill_session(session: int, signum: int) -> int:
    """Send ``signum`` to every process of session ``session`` but this one (a step process
    leads its session; its script, a training host in a process group of its own, and what
    they started are all in it). Returns how many processes were signalled."""
    signalled = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            pid = int(stat.parent.name)
            if int(fields[3]) != session or pid == os.getpid():
                continue
            os.kill(pid, signum)
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        signalled += 1
    return signalled
