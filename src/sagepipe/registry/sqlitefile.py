"""One SQLite file shared safely by threads and processes: the local registry's storage.

Each operation opens its own connection (connections are not shared across threads). Writes
run in ``BEGIN IMMEDIATE`` transactions, which take the write lock before the first read, so
a read-then-insert (the next version number) cannot interleave with another writer. A writer
that finds the file locked waits for SQLite's busy timeout, then retries with back-off.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sagepipe.registry.errors import RegistryError

_ATTEMPTS = 50
_T = TypeVar("_T")


class SqliteFile:
    """Connections to one database file, its schema created on first use.

    Args:
        path: The database file (its directory is created).
        schema: ``;``-separated statements run once, idempotent (``IF NOT EXISTS``).
        busy_timeout: Seconds a connection waits for a lock before an attempt fails.
    """

    def __init__(self, path: Path, schema: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._schema = schema
        self._busy_timeout = busy_timeout
        self._initialised = False

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading (closed afterwards)."""
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def write(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``action`` in a ``BEGIN IMMEDIATE`` transaction, retrying while busy."""

        def attempt() -> _T:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = action(db)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                return result
            finally:
                db.close()

        return self._retry(attempt)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        db.row_factory = sqlite3.Row
        if not self._initialised:
            self._retry(lambda: self._initialise(db))
            self._initialised = True
        return db

    def _initialise(self, db: sqlite3.Connection) -> None:
        # WAL lets readers go on while one process writes; the setting stays with the file.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in self._schema.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _retry(self, attempt: Callable[[], _T]) -> _T:
        for number in range(1, _ATTEMPTS + 1):
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or number == _ATTEMPTS:
                    raise RegistryError(f"the registry {self.path} failed: {exc}") from None
                time.sleep(min(0.5, 0.01 * 2 ** min(number, 6)) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")  # the loop returns or raises
