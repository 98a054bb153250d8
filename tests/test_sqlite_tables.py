"""One SQLite file per owner: endpoints and training jobs recorded in runs.db by earlier
versions are adopted by their own files, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sagepipe.endpoints import EndpointStore
from sagepipe.endpoints.store import _SCHEMA as ENDPOINTS_SCHEMA
from sagepipe.pytorch.jobs import _SCHEMA as JOBS_SCHEMA
from sagepipe.pytorch.jobs import JobStore
from sagepipe.sqlite_tables import adopt_legacy_rows


def _legacy_home(tmp_path: Path, schema: str, table: str, row: tuple[object, ...]) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "runs.db") as db:
        db.execute(schema)
        db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    return home


def test_endpoints_recorded_in_runs_db_are_adopted_by_endpoints_db(tmp_path: Path) -> None:
    row = ("ep", "model-a", "http://127.0.0.1:9", 123, "InService", "/l", "{}", None, 1.0, 2.0)
    home = _legacy_home(tmp_path, ENDPOINTS_SCHEMA, "endpoints", row)

    with EndpointStore(home) as store:
        record = store.get("ep")
    assert (record.model, record.url, record.status) == (
        "model-a",
        "http://127.0.0.1:9",
        "InService",
    )
    assert (home / "endpoints.db").is_file()
    # Adopted once: a later deletion in endpoints.db is not undone by the legacy rows.
    with sqlite3.connect(home / "endpoints.db") as db:
        db.execute("DELETE FROM endpoints")
    with EndpointStore(home) as store:
        assert store.find("ep") is None


def test_training_jobs_recorded_in_runs_db_are_adopted_by_jobs_db(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "runs.db") as db:
        db.execute(JOBS_SCHEMA)
        columns = [c[1] for c in db.execute("PRAGMA table_info(training_jobs)")]
        values = {c: None for c in columns} | {
            "name": "job-1",
            "status": "Completed",
            "request_json": "{}",
            "log_path": "/l",
            "metrics_json": "[]",
            "created_at": 1.0,
        }
        db.execute(
            f"INSERT INTO training_jobs VALUES ({', '.join('?' * len(columns))})",
            [values[c] for c in columns],
        )

    with JobStore(home) as store:
        names = [row[0] for row in store._db.execute("SELECT name FROM training_jobs")]
    assert names == ["job-1"]
    assert (home / "jobs.db").is_file()


def test_nothing_is_adopted_without_a_legacy_table(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute("CREATE TABLE executions (id TEXT)")
    target = sqlite3.connect(tmp_path / "new.db")
    target.execute(ENDPOINTS_SCHEMA)

    assert adopt_legacy_rows(target, tmp_path, "endpoints") == 0
    assert adopt_legacy_rows(target, tmp_path / "missing", "endpoints") == 0
