"""Local training jobs: their records in the run store, a detached runner, and following.

A local ``fit`` writes a :class:`LocalJobRequest` to the ``training_jobs`` table and starts
``python -m sagepipe.pytorch.worker NAME`` in its own session; the worker runs the job and
records the outcome. ``fit(wait=True)`` and ``PyTorch.attach`` follow the job's log until
the record says it ended, so a job started with ``wait=False`` can be followed later.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sagepipe.errors import did_you_mean
from sagepipe.processes import process_alive
from sagepipe.pytorch.errors import JobNotFoundError
from sagepipe.storage import sagepipe_home

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
_DB_NAME = "runs.db"  # the run store's database: one per sagepipe home

_SCHEMA = """CREATE TABLE IF NOT EXISTS training_jobs (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    request_json TEXT NOT NULL,
    model_data TEXT,
    log_path TEXT NOT NULL,
    pid INTEGER,
    failure_reason TEXT,
    metrics_json TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    ended_at REAL
)"""


class LocalJobRequest(BaseModel):
    """Everything the worker needs to run one local job (what ``CreateTrainingJob`` holds).

    Channels and outputs are URIs; the worker materialises and uploads them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_name: str
    source_dir: str
    entry_point: str
    dependencies: list[str] = Field(default_factory=list)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    instance_type: str = "local"
    instance_count: int = 1
    distribution: str | None = None
    processes_per_host: int | None = None
    metric_definitions: list[dict[str, str]] = Field(default_factory=list)
    max_run: int | None = None
    output_path: str
    checkpoint_s3_uri: str | None = None
    #: The CreateTrainingJob request the worker runs (the one SageMaker would get).
    create_request: dict[str, Any] = Field(default_factory=dict)

    @property
    def model_data(self) -> str:
        """Where the worker puts ``model.tar.gz`` (SageMaker's ``S3ModelArtifacts``)."""
        return f"{self.output_path.rstrip('/')}/{self.job_name}/output/model.tar.gz"


@dataclass(frozen=True)
class JobRecord:
    """One local training job (what ``DescribeTrainingJob`` tells, locally)."""

    name: str
    status: str
    request: LocalJobRequest
    model_data: str | None
    log_path: str
    pid: int | None
    failure_reason: str | None
    metrics: list[dict[str, Any]]
    created_at: float
    ended_at: float | None

    def describe(self) -> dict[str, Any]:
        """The record shaped like ``DescribeTrainingJob``'s response: the members of the
        CreateTrainingJob request the job ran, its status, artifacts, metrics and times."""
        request = self.request
        described: dict[str, Any] = {
            "HyperParameters": {k: json.dumps(v) for k, v in request.hyperparameters.items()},
            "ResourceConfig": {
                "InstanceType": request.instance_type,
                "InstanceCount": request.instance_count,
            },
            "OutputDataConfig": {"S3OutputPath": request.output_path},
            "InputDataConfig": [
                {"ChannelName": name, "DataSource": {"S3DataSource": {"S3Uri": uri}}}
                for name, uri in request.channels.items()
            ],
        }
        described.update(
            {k: v for k, v in request.create_request.items() if k != "TrainingJobName"}
        )
        described.update(
            {
                "TrainingJobName": self.name,
                "TrainingJobStatus": self.status,
                "FailureReason": self.failure_reason,
                "ModelArtifacts": {"S3ModelArtifacts": self.model_data},
                "FinalMetricDataList": _final_metrics(self.metrics),
                "CreationTime": self.created_at,
                "TrainingEndTime": self.ended_at,
                "LogPath": self.log_path,
            }
        )
        return described


def _final_metrics(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for point in points:
        last[point["name"]] = point
    return [
        {"MetricName": name, "Value": p["value"], "Timestamp": p["timestamp"]}
        for name, p in last.items()
    ]


class JobStore:
    """Reads and writes the ``training_jobs`` table of a sagepipe home."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or sagepipe_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.home / _DB_NAME, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def job_dir(self, name: str) -> Path:
        """The job's files (as ``sagepipe train`` lays them out)."""
        return self.job_dir_in(self.home, name)

    @staticmethod
    def job_dir_in(home: Path, name: str) -> Path:
        """The files of job ``name`` in the sagepipe home ``home``."""
        return home / "jobs" / name

    def add(self, request: LocalJobRequest, log_path: Path) -> None:
        """Record a new job ``InProgress``."""
        self._db.execute(
            "INSERT INTO training_jobs (name, status, request_json, log_path, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (request.job_name, IN_PROGRESS, request.model_dump_json(), str(log_path), time.time()),
        )

    def exists(self, name: str) -> bool:
        """Whether a job called ``name`` was recorded."""
        row = self._db.execute("SELECT 1 FROM training_jobs WHERE name = ?", (name,)).fetchone()
        return row is not None

    def set_pid(self, name: str, pid: int) -> None:
        """Record the worker's process id."""
        self._db.execute("UPDATE training_jobs SET pid = ? WHERE name = ?", (pid, name))

    def finish(
        self,
        name: str,
        status: str,
        model_data: str | None,
        reason: str | None,
        metrics: list[dict[str, Any]],
    ) -> None:
        """Record the job's outcome."""
        self._db.execute(
            "UPDATE training_jobs SET status = ?, model_data = ?, failure_reason = ?, "
            "metrics_json = ?, ended_at = ? WHERE name = ?",
            (status, model_data, reason, json.dumps(metrics), time.time(), name),
        )

    def get(self, name: str) -> JobRecord:
        """The job called ``name``.

        Raises:
            JobNotFoundError: there is none (the message lists close names).
        """
        row = self._db.execute(
            "SELECT name, status, request_json, model_data, log_path, pid, failure_reason, "
            "metrics_json, created_at, ended_at FROM training_jobs WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            names = [r[0] for r in self._db.execute("SELECT name FROM training_jobs")]
            raise JobNotFoundError(
                f"no local training job named {name!r}{did_you_mean(name, names)} in "
                f"{self.home}; check the name or SAGEPIPE_HOME"
            )
        return JobRecord(
            name=row[0],
            status=row[1],
            request=LocalJobRequest.model_validate_json(row[2]),
            model_data=row[3],
            log_path=row[4],
            pid=row[5],
            failure_reason=row[6],
            metrics=json.loads(row[7]),
            created_at=row[8],
            ended_at=row[9],
        )


def start_local_job(request: LocalJobRequest, home: Path | None = None) -> JobRecord:
    """Record ``request`` and start its worker, detached, with its output in the job's log."""
    with JobStore(home) as store:
        job_dir = store.job_dir(request.job_name)
        job_dir.mkdir(parents=True, exist_ok=True)
        log_path = job_dir / "job.log"
        store.add(request, log_path)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "sagepipe.pytorch.worker", request.job_name],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "SAGEPIPE_HOME": str(store.home), "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        store.set_pid(request.job_name, process.pid)
        return store.get(request.job_name)


def follow_job(
    name: str,
    log: Callable[[str], None] | None = None,
    home: Path | None = None,
    poll_s: float = 0.1,
) -> JobRecord:
    """Stream the job's log to ``log`` until the job ends; return its final record.

    A worker that died without recording an outcome is recorded ``Failed``.
    """
    with JobStore(home) as store:
        record = store.get(name)
        position = 0
        pending = ""
        while True:
            ended = record.status != IN_PROGRESS
            if not ended and record.pid is not None and not process_alive(record.pid):
                record = store.get(name)  # it may have finished just now
                if record.status == IN_PROGRESS:
                    store.finish(name, FAILED, None, "the job's worker process died", [])
                    record = store.get(name)
                ended = True
            with open(record.log_path, "rb") as stream:
                stream.seek(position)
                chunk = stream.read()
            position += len(chunk)
            lines = (pending + chunk.decode("utf-8", "replace")).split("\n")
            pending = lines.pop()
            if log is not None:
                for line in lines:
                    log(line)
            if ended:
                if pending and log is not None:
                    log(pending)
                return record
            time.sleep(poll_s)
            record = store.get(name)
