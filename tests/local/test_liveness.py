"""Executions whose engine is gone, and the OS error behind a failed write of the run store."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagepipe.local.liveness import live_step_processes, reconcile
from sagepipe.local.records import ExecutionRecord
from sagepipe.local.store import RunStore
from sagepipe.local.store.diagnosis import RESERVE_BYTES, keep_reserve, release_reserve
from sagepipe.processes import process_start_time


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _record(pid: int | None, start: int | None) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id="e1",
        pipeline_name="p",
        ir_json="{}",
        root="/",
        parameters={},
        status="Executing",
        storage="local",
        start_time=1.0,
        end_time=None,
        failure_reason=None,
        engine_pid=pid,
        engine_start=start,
    )


def _store(tmp_path: Path, record: ExecutionRecord) -> RunStore:
    store = RunStore.open(tmp_path)
    store.create_execution(record, [("a", "ProcessingStep"), ("b", "ProcessingStep")])
    store.update_step("e1", "a", status="Succeeded")
    store.update_step("e1", "b", status="Executing", pid=record.engine_pid, pid_start=1)
    return store


def test_an_execution_whose_engine_runs_is_left_alone(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    record = _record(sleeper.pid, process_start_time(sleeper.pid))
    store = _store(tmp_path, record)

    assert reconcile(store, record) == record
    assert store.execution("e1").status == "Executing"


def test_a_recycled_engine_pid_does_not_keep_an_execution_running(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    start = process_start_time(sleeper.pid)
    assert start is not None
    # The pid runs, but it is another process than the one that started the execution.
    record = _record(sleeper.pid, start - 1)
    store = _store(tmp_path, record)

    closed = reconcile(store, record)

    reason = f"the engine (pid {sleeper.pid}) ended without finishing the execution"
    assert (closed.status, closed.failure_reason) == ("Failed", reason)
    assert store.execution("e1").status == "Failed"
    steps = {s.name: (s.status, s.failure_reason) for s in store.steps("e1")}
    assert steps == {"a": ("Succeeded", None), "b": ("Failed", reason)}


def test_live_step_processes_are_found_by_pid_and_start_time(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    store = _store(tmp_path, _record(None, None))
    store.update_step("e1", "b", pid=sleeper.pid, pid_start=process_start_time(sleeper.pid))
    assert [s.name for s in live_step_processes(store.steps("e1"))] == ["b"]
    store.update_step("e1", "b", pid_start=(process_start_time(sleeper.pid) or 0) - 1)
    assert live_step_processes(store.steps("e1")) == []


PROBE = """
import resource, sys
from pathlib import Path
from sagepipe.local.store.diagnosis import write_failure_cause
database = Path(sys.argv[1])
limit = database.stat().st_size + 4096
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
print(write_failure_cause(database))
"""


def test_a_file_size_limit_is_named_as_the_cause(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    database.write_bytes(b"\0" * 200_000)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(database)], capture_output=True, text=True, timeout=60
    )
    assert probe.stdout.strip() == "[Errno 27] File too large", probe.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]  # the probe is gone


def test_writes_that_work_have_no_cause(tmp_path: Path) -> None:
    from sagepipe.local.store.diagnosis import write_failure_cause

    (tmp_path / "runs.db").write_bytes(b"\0" * 4096)
    assert write_failure_cause(tmp_path / "runs.db") is None


def test_the_reserve_is_kept_and_given_back(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    keep_reserve(database)
    reserve = tmp_path / "runs.db-reserve"
    assert reserve.stat().st_size == RESERVE_BYTES
    release_reserve(database)
    assert not reserve.exists()


def test_the_store_refuses_a_file_size_limit_with_the_cause(tmp_path: Path) -> None:
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from sagepipe.local.store import RunStore; RunStore.open(Path(sys.argv[1]))",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000)),
        env=dict(os.environ),
    )
    assert opened.returncode == 1
    last = opened.stderr.strip().splitlines()[-1]
    assert last == (
        f"sagepipe.local.errors.RunStoreError: the run store {tmp_path / 'runs.db'} cannot be "
        "opened: [Errno 27] File too large"
    )
