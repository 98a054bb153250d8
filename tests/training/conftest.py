"""Helpers for training-runtime tests: a source dir from a dict of files, a job runner."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sagepipe.training import TrainingJobResult, TrainingJobSpec, run_training_job
from sagepipe.training.job import INVOKING

from .helpers import RunJob, WriteSource


@pytest.fixture
def write_source(tmp_path: Path) -> WriteSource:
    """Write ``{relative name: code}`` (dedented) into a fresh source dir; return it."""

    def write(files: dict[str, str]) -> Path:
        source = tmp_path / "source"
        for name, text in files.items():
            path = source / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        return source

    return write


@pytest.fixture
def run_job(tmp_path: Path, sagepipe_home_dir: Path) -> RunJob:
    """Run a job in ``tmp_path/work``; returns the result and the streamed log lines."""

    def run(
        source: Path, entry_point: str = "train.py", **fields: Any
    ) -> tuple[TrainingJobResult, list[str]]:
        spec = TrainingJobSpec(
            job_name=fields.pop("job_name", "test-job"),
            source_dir=source,
            entry_point=entry_point,
            **fields,
        )
        lines: list[str] = []
        result = run_training_job(spec, tmp_path / "work", lines.append)
        # One line names the command the job ran (none when it stopped before, as on a failed
        # requirements install); the tests read the other lines, the script's and sagepipe's.
        assert sum(line.startswith(INVOKING) for line in lines) <= 1, lines
        return result, [line for line in lines if not line.startswith(INVOKING)]

    return run
