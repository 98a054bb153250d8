"""The run store's schema, as an ordered list of named migrations.

A migration runs once per database and is recorded in ``schema_migrations``; later features
add their tables by appending a migration here (never by editing an applied one).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """Statements that move the schema forward; ``name`` is recorded once applied."""

    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_engine",
        (
            """CREATE TABLE executions (
                id TEXT PRIMARY KEY,
                pipeline_name TEXT NOT NULL,
                ir_json TEXT NOT NULL,
                root TEXT NOT NULL,
                parameters_json TEXT NOT NULL,
                status TEXT NOT NULL,
                storage TEXT NOT NULL,
                start_time REAL NOT NULL,
                end_time REAL,
                failure_reason TEXT,
                engine_pid INTEGER
            )""",
            "CREATE INDEX executions_by_start ON executions (start_time)",
            """CREATE TABLE steps (
                execution_id TEXT NOT NULL REFERENCES executions (id),
                name TEXT NOT NULL,
                position INTEGER NOT NULL,
                step_type TEXT NOT NULL,
                status TEXT NOT NULL,
                start_time REAL,
                end_time REAL,
                properties_json TEXT,
                failure_reason TEXT,
                cache_key TEXT,
                cache_hit INTEGER NOT NULL DEFAULT 0,
                cache_source TEXT,
                log_path TEXT,
                work_dir TEXT,
                pid INTEGER,
                outputs_json TEXT NOT NULL DEFAULT '[]',
                warnings_json TEXT NOT NULL DEFAULT '[]',
                process_seconds REAL,
                PRIMARY KEY (execution_id, name)
            )""",
            "CREATE INDEX steps_by_cache_key ON steps (cache_key, status)",
            """CREATE TABLE metrics (
                execution_id TEXT NOT NULL,
                step_name TEXT NOT NULL,
                name TEXT NOT NULL,
                value REAL NOT NULL,
                timestamp REAL NOT NULL,
                idx INTEGER NOT NULL
            )""",
            "CREATE INDEX metrics_by_step ON metrics (execution_id, step_name, name, idx)",
            """CREATE TABLE content_digests (
                uri TEXT PRIMARY KEY,
                size INTEGER NOT NULL,
                last_modified REAL NOT NULL,
                sha256 TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        "0002_models",
        (
            # The models model steps create (SageMaker's CreateModel), found by name.
            """CREATE TABLE models (
                name TEXT PRIMARY KEY,
                execution_id TEXT NOT NULL,
                step_name TEXT NOT NULL,
                image TEXT NOT NULL,
                model_data_url TEXT NOT NULL,
                environment_json TEXT NOT NULL,
                region TEXT NOT NULL,
                created_at REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        "0003_process_identity",
        (
            # A pid alone may be recycled: with its start time it names one process.
            "ALTER TABLE executions ADD COLUMN engine_start INTEGER",
            "ALTER TABLE steps ADD COLUMN pid_start INTEGER",
        ),
    ),
    Migration(
        "0004_definitions",
        (
            # An execution of a SageMaker pipeline definition keeps it, so --resume re-reads it.
            "ALTER TABLE executions ADD COLUMN definition_json TEXT",
        ),
    ),
)


def migrate(connection: sqlite3.Connection) -> None:
    """Apply the migrations this database has not seen, each in its own transaction."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL)"
    )
    applied = {row[0] for row in connection.execute("SELECT name FROM schema_migrations")}
    for migration in MIGRATIONS:
        if migration.name in applied:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            done = connection.execute(
                "SELECT 1 FROM schema_migrations WHERE name = ?", (migration.name,)
            ).fetchone()
            if done is None:
                for statement in migration.statements:
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?)", (migration.name, time.time())
                )
            connection.execute("COMMIT")
        except BaseException:
            # A failed write (disk full) may have ended the transaction already: rolling
            # back again would bury the cause under "no transaction is active".
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
