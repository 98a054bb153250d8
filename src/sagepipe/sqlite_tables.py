"""One SQLite file per owner: moving a table out of a file it used to share.

Each SQLite file in a sagepipe home has one owner (the run store ``runs.db``, local endpoints
``endpoints.db``, SDK-style local training jobs ``jobs.db``, the registry ``registry.db``).
Endpoints and training jobs used to keep their tables in ``runs.db``; the first time their
own file is created, the rows found there are copied over, so nothing recorded before is
lost. A leaf module: it imports nothing of sagepipe.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

LEGACY_DB_NAME = "runs.db"


def adopt_legacy_rows(connection: sqlite3.Connection, home: Path, table: str) -> int:
    """Copy the rows of ``table`` from the home's ``runs.db`` into ``connection``'s database,
    where the table already exists with the same columns; returns how many were copied.

    Run it once, right after creating the new file: rows already there are kept.
    """
    legacy = home / LEGACY_DB_NAME
    if not legacy.is_file():
        return 0
    source = sqlite3.connect(f"file:{legacy}?mode=ro", uri=True, timeout=30.0)
    try:
        found = source.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if found is None:
            return 0
        rows = source.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        source.close()
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        connection.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
    return len(rows)
