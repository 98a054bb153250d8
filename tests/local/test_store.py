"""The run store: schema migrations, records, concurrent writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sagepipe.local.records import ExecutionRecord, MetricPoint
from sagepipe.local.store import RunStore
from sagepipe.local.store.schema import MIGRATIONS


def _execution(execution_id: str, start: float) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=execution_id,
        pipeline_name="p",
        ir_json="{}",
        root="/",
        parameters={"A": 1},
        status="Executing",
        storage="local",
        start_time=start,
        end_time=None,
        failure_reason=None,
        engine_pid=None,
    )


def test_schema_is_created_once_and_records_round_trip(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    store.create_execution(_execution("old", 1.0), [("a", "ProcessingStep")])
    store.create_execution(_execution("new", 2.0), [("a", "ProcessingStep"), ("b", "X")])
    store.update_step("new", "a", status="Succeeded", properties={"K": {"V": 1}}, cache_key="k1")
    store.update_execution("new", status="Succeeded", end_time=3.0)
    store.close()

    reopened = RunStore.open(tmp_path)
    assert [e.execution_id for e in reopened.executions()] == ["new", "old"]
    assert reopened.execution("new").status == "Succeeded"
    assert reopened.execution("new").parameters == {"A": 1}
    steps = reopened.steps("new")
    assert [(s.name, s.status) for s in steps] == [("a", "Succeeded"), ("b", "NotRun")]
    assert steps[0].properties == {"K": {"V": 1}}
    found = reopened.find_cached("k1")
    assert found is not None and found.execution_id == "new"
    applied = sqlite3.connect(tmp_path / "runs.db").execute("SELECT name FROM schema_migrations")
    assert [row[0] for row in applied] == [m.name for m in MIGRATIONS]


WRITER = """
import sys
from pathlib import Path
from sagepipe.local.records import MetricPoint
from sagepipe.local.store import RunStore

store = RunStore.open(Path(sys.argv[1]))
for index in range(40):
    store.add_metrics("exec", [MetricPoint(sys.argv[2], "loss", 1.0 / (index + 1), 0.0, index)])
"""


def test_concurrent_step_processes_can_write(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    store.create_execution(_execution("exec", time.time()), [("a", "T")])
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"step{n}"])
        for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    points = store.metrics("exec")
    assert len(points) == 160
    assert [p.index for p in store.metrics("exec", "step2")] == list(range(40))


def test_copy_metrics(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path)
    store.add_metrics("one", [MetricPoint("train", "loss", 0.5, 1.0, 0)])
    store.copy_metrics(("one", "train"), ("two", "train"))
    assert store.metrics("two") == [MetricPoint("train", "loss", 0.5, 1.0, 0)]
