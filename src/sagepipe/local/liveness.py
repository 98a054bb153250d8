"""Executions whose engine is gone: found and closed by the next command that reads them.

A ``sagepipe run`` killed with SIGKILL (or by the OOM killer, or a reboot) cannot record how
its execution ended. Its step processes die with it (see :mod:`sagepipe.local.launch`); the
execution would stay ``Executing`` forever. Every command that reads executions passes them
through :func:`reconcile`, which marks one whose engine process no longer runs ``Failed``
with a reason. The engine is identified by its pid *and* its start time, so a recycled pid
does not keep a dead execution "running".
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time

from sagepipe.local.errors import RunStoreError
from sagepipe.local.records import DONE_STATUSES, ExecutionRecord, StepRecord
from sagepipe.local.store import RunStore
from sagepipe.processes import process_running


def engine_gone(record: ExecutionRecord) -> bool:
    """Whether ``record`` says ``Executing`` though its engine process has ended."""
    if record.status != "Executing" or record.engine_pid == os.getpid():
        return False  # an engine running in this very process (a thread) is not gone
    return not process_running(record.engine_pid, record.engine_start)


def gone_reason(record: ExecutionRecord) -> str:
    return f"the engine (pid {record.engine_pid}) ended without finishing the execution"


def reconcile(store: RunStore, record: ExecutionRecord) -> ExecutionRecord:
    """``record``, marked ``Failed`` (in the store too, where it can be written) if its engine
    is gone; its steps still starting or executing are marked ``Failed`` with the reason."""
    if not engine_gone(record):
        return record
    reason = gone_reason(record)
    end_time = time.time()
    # A store that cannot be written still shows the truth to this reader.
    with contextlib.suppress(RunStoreError):
        store.finish_execution(
            record.execution_id, "Failed", reason, end_time, unfinished_steps=("Failed", reason)
        )
    return dataclasses.replace(record, status="Failed", failure_reason=reason, end_time=end_time)


def live_step_processes(steps: list[StepRecord]) -> list[StepRecord]:
    """The steps whose recorded step process still runs (an orphan of a dead engine)."""
    return [
        s
        for s in steps
        if s.status not in DONE_STATUSES
        and s.pid is not None
        and process_running(s.pid, s.pid_start)
    ]
