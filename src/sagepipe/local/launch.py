"""Starting a step's process and reading how it ended."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO

from sagepipe.local.layout import StepLayout
from sagepipe.local.protocol import ENGINE_PID_ENV, StepRequest, StepResult
from sagepipe.local.sandbox import unshare_command
from sagepipe.local.uploads import roll_back
from sagepipe.processes import kill_session, process_start_time
from sagepipe.storage import Storage

STEP_PROCESS_MODULE = "sagepipe.local.step_process"


@dataclass
class RunningStep:
    """A step whose process is running."""

    name: str
    process: subprocess.Popen[bytes]
    layout: StepLayout
    started: float
    log: IO[bytes]
    start_ticks: int | None = None

    def signal_group(self, signum: int) -> None:
        """Send a signal to the step's process group (its process and the script)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self.process.pid, signum)


@dataclass(frozen=True)
class StepEnd:
    """How a step process ended, as the engine records it."""

    status: str
    failure_reason: str | None
    result: StepResult | None
    internal: bool = False


def clear_step_dir(layout: StepLayout, storage: Storage) -> None:
    """Remove an earlier attempt's directory, and any partial output it left."""
    roll_back(storage, layout.uploads)
    if layout.step_dir.exists():
        shutil.rmtree(layout.step_dir)


def start_step(request: StepRequest, layout: StepLayout) -> RunningStep:
    """Write the request and start the step process, in its own process group (and its own
    mount namespace in ``namespace`` mode), with its output going to the step log.

    The step process dies with the engine: it asks the kernel for SIGTERM when its parent
    dies (``PR_SET_PDEATHSIG``, see :mod:`sagepipe.local.step_process`), and then ends its
    whole session (the script and whatever the script started). The kernel sends that
    signal when the *thread* that started the process ends, so steps are started only by the
    scheduler's loop, which outlives every step it starts.
    """
    layout.step_dir.mkdir(parents=True, exist_ok=True)
    request.save(layout.request)
    log = layout.log.open("ab")
    command = [sys.executable, "-m", STEP_PROCESS_MODULE, str(layout.request)]
    if request.opt_ml_mode == "namespace":
        command = [*unshare_command(), *command]
    env = dict(os.environ, SAGEPIPE_HOME=request.home, PYTHONUNBUFFERED="1")
    env[ENGINE_PID_ENV] = str(os.getpid())
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=layout.step_dir,
        env=env,
        start_new_session=True,
    )
    started = time.time()
    return RunningStep(
        request.step_name, process, layout, started, log, process_start_time(process.pid)
    )


def collect_step(
    running: RunningStep, code: int, storage: Storage, stop_reason: str | None
) -> StepEnd:
    """Read how a finished step process ended; undo the uploads of one that did not succeed.

    Args:
        running: The step.
        code: Its exit status (negative: killed by that signal).
        storage: Where it uploaded.
        stop_reason: Why the engine was stopping it (``None``: it was not).
    """
    running.log.close()
    layout = running.layout
    # Whatever the step process started stays in its session (its own group, or a training
    # host's group): nothing may outlive the step.
    running.signal_group(signal.SIGKILL)
    kill_session(running.process.pid, signal.SIGKILL)
    result = StepResult.load(layout.result) if layout.result.is_file() else None
    if code == 0 and result is not None and result.status == "Succeeded":
        layout.uploads.unlink(missing_ok=True)  # committed: a later resume must keep them
        return StepEnd("Succeeded", None, result)
    roll_back(storage, layout.uploads)
    if stop_reason is not None:
        return StepEnd("Stopped", stop_reason, result)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else "unknown"
        # Not retried: a kill comes from a person or the kernel's OOM killer, not a fault
        # that another attempt would avoid.
        reason = f"step process was killed by signal {-code} ({name})"
        return StepEnd("Failed", reason, result)
    if result is None or result.status == "Succeeded":
        return StepEnd(
            "Failed",
            f"step process exited with code {code} without a result; see its log {layout.log}",
            result,
            internal=True,
        )
    return StepEnd(result.status, result.failure_reason, result, internal=result.internal)
