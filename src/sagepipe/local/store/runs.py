"""RunStore: executions, their steps and metrics in ``<SAGEPIPE_HOME>/runs.db``.

The database is in WAL mode with a busy timeout, so the engine, its step processes and
``sagepipe executions`` can use it at once. Every write is one short transaction.

Every SQLite error becomes a :class:`~sagepipe.local.errors.RunStoreError` naming the
database and the cause (for a failed write, the OS error found by
:func:`~sagepipe.local.store.diagnosis.write_failure_cause`, e.g. ``[Errno 28] No space left
on device``), and a failed transaction is rolled back only if it is still open.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sagepipe.errors import did_you_mean
from sagepipe.local.errors import ExecutionNotFoundError, ModelNotFoundError, RunStoreError
from sagepipe.local.records import ExecutionRecord, MetricPoint, ModelRecord, StepRecord, dumps
from sagepipe.local.store.diagnosis import release_reserve, write_failure_cause
from sagepipe.local.store.schema import migrate

DB_NAME = "runs.db"
_BUSY_TIMEOUT_S = 30.0

_STEP_COLUMNS = (
    "status",
    "start_time",
    "end_time",
    "properties",
    "failure_reason",
    "cache_key",
    "cache_hit",
    "cache_source",
    "log_path",
    "work_dir",
    "pid",
    "pid_start",
    "outputs",
    "warnings",
    "process_seconds",
)
_JSON_COLUMNS = {
    "properties": "properties_json",
    "outputs": "outputs_json",
    "warnings": "warnings_json",
}
_EXECUTION_COLUMNS = (
    "status",
    "end_time",
    "failure_reason",
    "engine_pid",
    "engine_start",
    "definition_json",
)
#: Step statuses of a step that has not ended.
_UNFINISHED = ("Starting", "Executing")


def store_path(home: Path) -> Path:
    """Where the run store of a sagepipe home lives."""
    return home / DB_NAME


class RunStore:
    """Reads and writes the run store.

    Args:
        path: The database file; created (with its schema) when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RunStoreError(f"the run store {path} cannot be opened: {exc}") from None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            migrate(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise self._failure("opened", exc) from None

    @classmethod
    def open(cls, home: Path) -> RunStore:
        """The run store of a sagepipe home."""
        return cls(store_path(home))

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # A failed write (disk full) may have ended the transaction already.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failure("written", exc) from None

    def _read(self, query: str, arguments: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(query, arguments).fetchall()
        except sqlite3.Error as exc:
            raise self._failure("read", exc) from None

    def _failure(self, what: str, exc: sqlite3.Error) -> RunStoreError:
        """The error to raise: the OS error behind a failed write if there is one."""
        cause: Exception = exc
        if what != "read" and not isinstance(exc, sqlite3.IntegrityError):
            cause = write_failure_cause(self.path) or exc
        return RunStoreError(f"the run store {self.path} cannot be {what}: {cause}")

    # --- executions ----------------------------------------------------------------------

    def create_execution(self, record: ExecutionRecord, steps: Iterable[tuple[str, str]]) -> None:
        """Insert an execution and its steps (all ``NotRun`` until they start)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.execution_id,
                    record.pipeline_name,
                    record.ir_json,
                    record.root,
                    dumps(record.parameters),
                    record.status,
                    record.storage,
                    record.start_time,
                    record.end_time,
                    record.failure_reason,
                    record.engine_pid,
                    record.engine_start,
                    record.definition_json,
                ),
            )
            db.executemany(
                "INSERT INTO steps (execution_id, name, position, step_type, status) "
                "VALUES (?, ?, ?, ?, 'NotRun')",
                [
                    (record.execution_id, name, position, step_type)
                    for position, (name, step_type) in enumerate(steps)
                ],
            )

    def update_execution(self, execution_id: str, **fields: Any) -> None:
        """Set some of ``status``, ``end_time``, ``failure_reason``, ``engine_pid``."""
        unknown = set(fields) - set(_EXECUTION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown execution fields {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._write() as db:
            db.execute(
                f"UPDATE executions SET {assignments} WHERE id = ?",
                (*fields.values(), execution_id),
            )

    def finish_execution(
        self,
        execution_id: str,
        status: str,
        failure_reason: str | None,
        end_time: float,
        unfinished_steps: tuple[str, str] | None = None,
    ) -> None:
        """Record how an execution ended, in one transaction.

        A store that just ran out of room can usually still take this: if the write fails,
        the space kept by :func:`~sagepipe.local.store.diagnosis.keep_reserve` is given back,
        the write-ahead log is checkpointed and restarted (its space is reused), and the
        write is tried once more.

        Args:
            execution_id: The execution.
            status: Its final status.
            failure_reason: Why it failed or stopped.
            end_time: Seconds since the epoch.
            unfinished_steps: ``(status, reason)`` for its steps still starting or executing.

        Raises:
            RunStoreError: if even the retry fails.
        """

        def write() -> None:
            with self._write() as db:
                db.execute(
                    "UPDATE executions SET status = ?, end_time = ?, failure_reason = ? "
                    "WHERE id = ?",
                    (status, end_time, failure_reason, execution_id),
                )
                if unfinished_steps is not None:
                    db.execute(
                        "UPDATE steps SET status = ?, failure_reason = ?, end_time = ? "
                        f"WHERE execution_id = ? AND status IN {_UNFINISHED!r}",
                        (*unfinished_steps, end_time, execution_id),
                    )

        try:
            write()
        except RunStoreError:
            release_reserve(self.path)
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(RESTART)")
            write()

    def execution(self, execution_id: str) -> ExecutionRecord:
        """The execution with this id.

        Raises:
            ExecutionNotFoundError: naming the most recent executions.
        """
        rows = self._read("SELECT * FROM executions WHERE id = ?", (execution_id,))
        if not rows:
            recent = [e.execution_id for e in self.executions(limit=5)]
            raise ExecutionNotFoundError(
                f"no execution {execution_id!r} in {self.path}"
                f"{did_you_mean(execution_id, recent)}; recent: {', '.join(recent) or 'none'} "
                "(see sagepipe executions list)"
            )
        return _execution(rows[0])

    def executions(self, limit: int | None = None) -> list[ExecutionRecord]:
        """Executions, most recent first."""
        query = "SELECT * FROM executions ORDER BY start_time DESC, rowid DESC"
        rows = self._read(query + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
        return [_execution(row) for row in rows]

    # --- steps ---------------------------------------------------------------------------

    def update_step(self, execution_id: str, name: str, **fields: Any) -> None:
        """Set some of the step's fields (see :class:`StepRecord`)."""
        unknown = set(fields) - set(_STEP_COLUMNS)
        if unknown:
            raise ValueError(f"unknown step fields {sorted(unknown)}")
        columns = [_JSON_COLUMNS.get(name, name) for name in fields]
        values = [
            dumps(value) if name in _JSON_COLUMNS and value is not None else value
            for name, value in fields.items()
        ]
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with self._write() as db:
            db.execute(
                f"UPDATE steps SET {assignments} WHERE execution_id = ? AND name = ?",
                (*values, execution_id, name),
            )

    def steps(self, execution_id: str) -> list[StepRecord]:
        """The execution's steps, in execution order."""
        rows = self._read(
            "SELECT * FROM steps WHERE execution_id = ? ORDER BY position", (execution_id,)
        )
        return [_step(row) for row in rows]

    def step(self, execution_id: str, name: str) -> StepRecord:
        """One step of an execution.

        Raises:
            ExecutionNotFoundError: if the execution or the step does not exist.
        """
        steps = self.steps(execution_id)
        if not steps:
            self.execution(execution_id)
        for step in steps:
            if step.name == name:
                return step
        names = [s.name for s in steps]
        raise ExecutionNotFoundError(
            f"execution {execution_id} has no step {name!r}{did_you_mean(name, names)}; "
            f"its steps: {', '.join(names)}"
        )

    def find_cached(self, cache_key: str) -> StepRecord | None:
        """The most recent step that succeeded (by running) with this cache key."""
        rows = self._read(
            "SELECT * FROM steps WHERE cache_key = ? AND status = 'Succeeded' "
            "ORDER BY end_time DESC LIMIT 1",
            (cache_key,),
        )
        return _step(rows[0]) if rows else None

    # --- metrics -------------------------------------------------------------------------

    def add_metrics(self, execution_id: str, points: Iterable[MetricPoint]) -> None:
        """Append metric points of one execution."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (execution_id, p.step_name, p.name, p.value, p.timestamp, p.index)
                    for p in points
                ],
            )

    def delete_metrics(self, execution_id: str, step_name: str) -> None:
        """Forget a step's metrics (before it runs again)."""
        with self._write() as db:
            db.execute(
                "DELETE FROM metrics WHERE execution_id = ? AND step_name = ?",
                (execution_id, step_name),
            )

    def copy_metrics(self, source: tuple[str, str], target: tuple[str, str]) -> None:
        """Copy the metrics of step ``(execution, step)`` ``source`` to ``target`` (a cache hit
        shows the metrics of the run it reuses)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO metrics SELECT ?, ?, name, value, timestamp, idx FROM metrics "
                "WHERE execution_id = ? AND step_name = ? ORDER BY rowid",
                (*target, *source),
            )

    def metrics(self, execution_id: str, step_name: str | None = None) -> list[MetricPoint]:
        """The execution's metric points, by step, metric name and index."""
        query = "SELECT * FROM metrics WHERE execution_id = ?"
        arguments: tuple[str, ...] = (execution_id,)
        if step_name is not None:
            query += " AND step_name = ?"
            arguments += (step_name,)
        rows = self._read(query + " ORDER BY step_name, name, idx, rowid", arguments)
        return [
            MetricPoint(row["step_name"], row["name"], row["value"], row["timestamp"], row["idx"])
            for row in rows
        ]

    # --- models ----------------------------------------------------------------------------

    def add_model(self, record: ModelRecord) -> None:
        """Store a model created by a model step (a model of the same name is replaced)."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.execution_id,
                    record.step_name,
                    record.image,
                    record.model_data_url,
                    dumps(record.environment),
                    record.region,
                    record.created_at,
                ),
            )

    def model(self, name: str) -> ModelRecord:
        """The model named ``name``.

        Raises:
            ModelNotFoundError: if no model step created a model of that name.
        """
        rows = self._read("SELECT * FROM models WHERE name = ?", (name,))
        if not rows:
            raise ModelNotFoundError(
                f"no model {name!r} in {self.path}; models are created by a pipeline's model "
                "step (PyTorchModelStep) when it runs"
            )
        row = rows[0]
        return ModelRecord(
            name=row["name"],
            execution_id=row["execution_id"],
            step_name=row["step_name"],
            image=row["image"],
            model_data_url=row["model_data_url"],
            environment=json.loads(row["environment_json"]),
            region=row["region"],
            created_at=row["created_at"],
        )

    # --- content digests -----------------------------------------------------------------

    def digest(self, uri: str, size: int, last_modified: float) -> str | None:
        """The remembered sha256 of an object, if it has not changed since."""
        rows = self._read(
            "SELECT sha256 FROM content_digests WHERE uri = ? AND size = ? AND last_modified = ?",
            (uri, size, last_modified),
        )
        return str(rows[0][0]) if rows else None

    def remember_digest(self, uri: str, size: int, last_modified: float, sha256: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO content_digests VALUES (?, ?, ?, ?)",
                (uri, size, last_modified, sha256),
            )


def _execution(row: sqlite3.Row) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=row["id"],
        pipeline_name=row["pipeline_name"],
        ir_json=row["ir_json"],
        root=row["root"],
        parameters=json.loads(row["parameters_json"]),
        status=row["status"],
        storage=row["storage"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        failure_reason=row["failure_reason"],
        engine_pid=row["engine_pid"],
        engine_start=row["engine_start"],
        definition_json=row["definition_json"],
    )


def _step(row: sqlite3.Row) -> StepRecord:
    properties = row["properties_json"]
    return StepRecord(
        execution_id=row["execution_id"],
        name=row["name"],
        step_type=row["step_type"],
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        properties=json.loads(properties) if properties is not None else None,
        failure_reason=row["failure_reason"],
        cache_key=row["cache_key"],
        cache_hit=bool(row["cache_hit"]),
        cache_source=row["cache_source"],
        log_path=row["log_path"],
        work_dir=row["work_dir"],
        pid=row["pid"],
        outputs=json.loads(row["outputs_json"]),
        warnings=json.loads(row["warnings_json"]),
        process_seconds=row["process_seconds"],
        pid_start=row["pid_start"],
    )
