"""Local endpoints' state: the ``endpoints`` table of ``<SAGEPIPE_HOME>/endpoints.db``.

The file belongs to this package (created on first use), so that the endpoint lifecycle
needs neither the local engine nor the server stack; WAL mode, each write one short
transaction. Endpoints recorded in ``runs.db`` by earlier versions are copied over when the
file is created (:mod:`sagepipe.sqlite_tables`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from sagepipe.endpoints.errors import EndpointNotFoundError
from sagepipe.errors import did_you_mean
from sagepipe.sqlite_tables import adopt_legacy_rows

DB_NAME = "endpoints.db"
_BUSY_TIMEOUT_S = 30.0

IN_SERVICE = "InService"
CREATING = "Creating"
FAILED = "Failed"
DELETED = "Deleted"

_SCHEMA = """CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    url TEXT,
    pid INTEGER,
    status TEXT NOT NULL,
    log_path TEXT NOT NULL,
    environment_json TEXT NOT NULL,
    failure_reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)"""


@dataclass(frozen=True)
class EndpointRecord:
    """One local endpoint (what SageMaker's ``DescribeEndpoint`` tells, locally).

    Attributes:
        name: The endpoint's name, unique per sagepipe home.
        model: The model it serves (archive path or URI, or a model directory).
        url: The server's base URL once it listens.
        pid: The server process.
        status: ``Creating``, ``InService``, ``Failed`` or ``Deleted``.
        log_path: The server's log file.
        environment: Extra environment of the server (the model's).
        failure_reason: Why it failed (with the tail of its log).
        created_at: Seconds since the epoch.
        updated_at: Seconds since the epoch of the last change.
    """

    name: str
    model: str
    url: str | None
    pid: int | None
    status: str
    log_path: str
    environment: dict[str, str]
    failure_reason: str | None
    created_at: float
    updated_at: float

    def with_status(self, status: str, at: float, reason: str | None = None) -> EndpointRecord:
        """A copy with another status (and failure reason)."""
        return replace(self, status=status, updated_at=at, failure_reason=reason)


class EndpointStore:
    """Reads and writes the ``endpoints`` table of a sagepipe home."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        created = not (home / DB_NAME).exists()
        self._connection = sqlite3.connect(
            home / DB_NAME, timeout=_BUSY_TIMEOUT_S, isolation_level=None
        )
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(_SCHEMA)
        if created:
            adopt_legacy_rows(self._connection, home, "endpoints")

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def __enter__(self) -> EndpointStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, record: EndpointRecord) -> None:
        """Insert or replace ``record``."""
        self._connection.execute(
            "INSERT OR REPLACE INTO endpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.name,
                record.model,
                record.url,
                record.pid,
                record.status,
                record.log_path,
                json.dumps(record.environment, sort_keys=True),
                record.failure_reason,
                record.created_at,
                record.updated_at,
            ),
        )

    def find(self, name: str) -> EndpointRecord | None:
        """The endpoint called ``name``, or None."""
        row = self._connection.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
        return None if row is None else _record(row)

    def get(self, name: str) -> EndpointRecord:
        """The endpoint called ``name``.

        Raises:
            EndpointNotFoundError: there is none; the message lists close names.
        """
        record = self.find(name)
        if record is None:
            names = [r.name for r in self.all()]
            raise EndpointNotFoundError(
                f"no local endpoint named {name!r}{did_you_mean(name, names)}; "
                "`sagepipe endpoints list` shows them"
            )
        return record

    def all(self) -> list[EndpointRecord]:
        """Every endpoint, oldest first."""
        rows = self._connection.execute("SELECT * FROM endpoints ORDER BY created_at, name")
        return [_record(row) for row in rows]


def _record(row: tuple[object, ...]) -> EndpointRecord:
    name, model, url, pid, status, log_path, environment, reason, created, updated = row
    return EndpointRecord(
        name=str(name),
        model=str(model),
        url=None if url is None else str(url),
        pid=None if pid is None else int(str(pid)),
        status=str(status),
        log_path=str(log_path),
        environment=json.loads(str(environment)),
        failure_reason=None if reason is None else str(reason),
        created_at=float(str(created)),
        updated_at=float(str(updated)),
    )
