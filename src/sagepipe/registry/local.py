"""The local model registry: SQLite under ``$SAGEPIPE_HOME``, SageMaker's semantics.

Groups are per region, as on SageMaker (the same name in two regions is two groups). The next
version number is read and inserted in one write transaction (see
:mod:`sagepipe.registry.sqlitefile`): concurrent registrations, from threads or processes,
get 1, 2, 3... exactly once each.
"""

from __future__ import annotations

import getpass
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sagepipe.errors import did_you_mean
from sagepipe.registry.arn import group_arn, package_arn, parse_package_arn
from sagepipe.registry.errors import ModelPackageNotFoundError
from sagepipe.registry.models import (
    ApprovalEvent,
    ApprovalStatus,
    MetricsSource,
    ModelPackage,
    ModelPackageGroup,
    ModelPackageInput,
    ModelPackageSummary,
    check_group_name,
)
from sagepipe.registry.sqlitefile import SqliteFile

REGISTRY_FILE = "registry.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_package_groups (
    region TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (region, name)
);
CREATE TABLE IF NOT EXISTS model_packages (
    region TEXT NOT NULL,
    group_name TEXT NOT NULL COLLATE NOCASE,
    version INTEGER NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    approval_status TEXT NOT NULL,
    approval_description TEXT,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    request TEXT NOT NULL,
    PRIMARY KEY (region, group_name, version)
);
CREATE TABLE IF NOT EXISTS approval_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approval_events_arn ON approval_events (arn);
"""


def default_registry_path() -> Path:
    """``<SAGEPIPE_HOME>/registry.db``."""
    from sagepipe.storage import sagepipe_home

    return sagepipe_home() / REGISTRY_FILE


def current_user() -> str:
    """Who is making a change: the login name, or ``unknown``."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class LocalRegistry:
    """A :class:`~sagepipe.registry.protocol.ModelRegistry` in one SQLite file.

    Args:
        path: The database file; default ``<SAGEPIPE_HOME>/registry.db``. Created on first
            use, with its directory.
        busy_timeout: Seconds a writer waits for the lock before each retry.
    """

    def __init__(self, path: Path | None = None, *, busy_timeout: float = 10.0) -> None:
        self.path = path if path is not None else default_registry_path()
        self._db = SqliteFile(self.path, _SCHEMA, busy_timeout=busy_timeout)

    # --- groups ---------------------------------------------------------------------------

    def create_group(self, name: str, region: str, description: str = "") -> ModelPackageGroup:
        check_group_name(name)
        now = _now()

        def create(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO model_package_groups VALUES (?, ?, ?, ?)",
                (region, name, description, now),
            )

        self._db.write(create)
        return self.describe_group(name, region)

    def describe_group(self, name: str, region: str) -> ModelPackageGroup:
        with self._db.read() as db:
            row = db.execute(
                "SELECT * FROM model_package_groups WHERE region = ? AND name = ?", (region, name)
            ).fetchone()
        if row is None:
            known = [g.model_package_group_name for g in self.list_groups(region)]
            raise ModelPackageNotFoundError(
                f"no model package group {name!r} in {region}{did_you_mean(name, known)}; "
                f"groups there: {', '.join(known) or 'none'}"
            )
        return _group(row)

    def list_groups(self, region: str | None = None) -> list[ModelPackageGroup]:
        query = "SELECT * FROM model_package_groups"
        query += " WHERE region = ? ORDER BY name, region" if region else " ORDER BY name, region"
        with self._db.read() as db:
            rows = db.execute(query, (region,) if region else ()).fetchall()
        return [_group(row) for row in rows]

    # --- versions -------------------------------------------------------------------------

    def register(self, request: ModelPackageInput) -> ModelPackage:
        now = _now()
        user = current_user()
        payload = request.model_dump_json()

        def insert(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT OR IGNORE INTO model_package_groups VALUES (?, ?, ?, ?)",
                (request.region, request.group, "", now),
            )
            (latest,) = db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM model_packages "
                "WHERE region = ? AND group_name = ?",
                (request.region, request.group),
            ).fetchone()
            version = int(latest) + 1
            arn = package_arn(request.region, request.group, version)
            db.execute(
                "INSERT INTO model_packages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.region,
                    request.group,
                    version,
                    arn,
                    request.approval_status,
                    None,
                    now,
                    now,
                    payload,
                ),
            )
            db.execute(
                "INSERT INTO approval_events (arn, from_status, to_status, changed_by, "
                "changed_at, reason) VALUES (?, NULL, ?, ?, ?, ?)",
                (arn, request.approval_status, user, now, "registered"),
            )
            return arn

        return self.describe(self._db.write(insert))

    def list_versions(self, group: str, region: str | None = None) -> list[ModelPackageSummary]:
        query = "SELECT * FROM model_packages WHERE group_name = ?"
        params: tuple[str, ...] = (group,)
        if region:
            query, params = query + " AND region = ?", (group, region)
        with self._db.read() as db:
            rows = db.execute(query + " ORDER BY region, version", params).fetchall()
        if not rows and not self._group_exists(group, region):
            known = [g.model_package_group_name for g in self.list_groups(region)]
            raise ModelPackageNotFoundError(
                f"no model package group {group!r}{f' in {region}' if region else ''}"
                f"{did_you_mean(group, known)}; groups: {', '.join(sorted(set(known))) or 'none'}"
            )
        return [_package(row, ()).summary() for row in rows]

    def describe(self, arn: str) -> ModelPackage:
        parts = parse_package_arn(arn)
        with self._db.read() as db:
            row = db.execute(
                "SELECT * FROM model_packages WHERE region = ? AND group_name = ? AND version = ?",
                (parts.region, parts.group, parts.version),
            ).fetchone()
            events = db.execute(
                "SELECT * FROM approval_events WHERE arn = ? ORDER BY id",
                (row["arn"] if row else arn,),
            ).fetchall()
        if row is None:
            raise ModelPackageNotFoundError(
                f"no model package {arn} in the registry {self.path} (list the versions with: "
                f"sagepipe registry versions {parts.group})"
            )
        return _package(row, events)

    def update_approval(
        self, arn: str, status: ApprovalStatus, *, reason: str = "", by: str | None = None
    ) -> ModelPackage:
        current = self.describe(arn)
        now, user = _now(), by or current_user()

        def update(db: sqlite3.Connection) -> None:
            (previous,) = db.execute(
                "SELECT approval_status FROM model_packages WHERE arn = ?",
                (current.model_package_arn,),
            ).fetchone()
            if previous == status:
                return  # nothing changes; SageMaker accepts this too
            db.execute(
                "UPDATE model_packages SET approval_status = ?, approval_description = ?, "
                "modified_at = ? WHERE arn = ?",
                (status, reason or None, now, current.model_package_arn),
            )
            db.execute(
                "INSERT INTO approval_events (arn, from_status, to_status, changed_by, "
                "changed_at, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (current.model_package_arn, previous, status, user, now, reason),
            )

        self._db.write(update)
        return self.describe(current.model_package_arn)

    # --- database -------------------------------------------------------------------------

    def _group_exists(self, group: str, region: str | None) -> bool:
        return any(
            g.model_package_group_name.lower() == group.lower() for g in self.list_groups(region)
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _group(row: sqlite3.Row) -> ModelPackageGroup:
    return ModelPackageGroup(
        model_package_group_name=row["name"],
        model_package_group_arn=group_arn(row["region"], row["name"]),
        model_package_group_description=row["description"],
        creation_time=datetime.fromisoformat(row["created_at"]),
        region=row["region"],
    )


def _package(row: sqlite3.Row, events: list[sqlite3.Row] | tuple[()]) -> ModelPackage:
    request = ModelPackageInput.model_validate_json(row["request"])
    extra: dict[str, Any] = {}
    if request.metrics_uri:
        extra["model_metrics"] = MetricsSource(s3_uri=request.metrics_uri)
    return ModelPackage(
        model_package_name=row["group_name"],
        model_package_group_name=row["group_name"],
        model_package_version=row["version"],
        model_package_arn=row["arn"],
        model_package_description=request.description,
        creation_time=datetime.fromisoformat(row["created_at"]),
        last_modified_time=datetime.fromisoformat(row["modified_at"]),
        inference_specification=request.inference_specification(),
        model_approval_status=row["approval_status"],
        approval_description=row["approval_description"],
        domain=request.domain,
        task=request.task,
        sample_payload_url=request.sample_payload_uri,
        customer_metadata_properties=dict(request.customer_metadata),
        metrics=dict(request.metrics),
        region=row["region"],
        approval_history=tuple(
            ApprovalEvent(
                from_status=event["from_status"],
                to_status=event["to_status"],
                by=event["changed_by"],
                at=datetime.fromisoformat(event["changed_at"]),
                reason=event["reason"],
            )
            for event in events
        ),
        **extra,
    )
