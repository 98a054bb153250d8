"""Fixtures for the local API calls: a :class:`CallContext` built by hand in a fresh home
(``home`` and ``storage`` come from ``tests/local/conftest.py``).

``call_context(step_type, request)`` gives the context a step process would build (local
object store, uploader, step layout, log); ``run_call(context)`` runs the step type's local
implementation with the process's stdout and stderr going to the step log, as in a step
process, so failure reasons quote the script's output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.calls import CallContext, StepOutcome, local_call
from sagepipe.local.layout import StepLayout, job_name, step_layout
from sagepipe.local.protocol import OptMlMode
from sagepipe.local.records import MetricPoint
from sagepipe.local.uploads import Uploader
from sagepipe.storage import RoutedStorage

from .models import Calls

EXECUTION_ID = "exec0001"
REGION = "eu-west-1"

ContextFactory = Callable[..., CallContext]
CallRunner = Callable[[CallContext], StepOutcome]


@pytest.fixture
def calls(sagepipe_home_dir: Path) -> Calls:
    """CallContexts in a fresh SAGEPIPE_HOME (the model, model package, transform and endpoint
    call tests)."""
    return Calls(sagepipe_home_dir)


@pytest.fixture
def recorded_metrics() -> list[MetricPoint]:
    """Every metric point the contexts of this test recorded."""
    return []


@pytest.fixture
def call_context(
    home: Path, storage: RoutedStorage, recorded_metrics: list[MetricPoint]
) -> ContextFactory:
    """``call_context(step_type, request, step_name="step", opt_ml_mode="rewrite", ...)``:
    the context of one step of execution :data:`EXECUTION_ID`; further keywords override
    :class:`CallContext` fields."""

    def build(
        step_type: str,
        request: dict[str, Any],
        step_name: str = "step",
        opt_ml_mode: OptMlMode = "rewrite",
        **overrides: Any,
    ) -> CallContext:
        layout = step_layout(home, EXECUTION_ID, step_name)
        layout.step_dir.mkdir(parents=True, exist_ok=True)
        fields: dict[str, Any] = {
            "step_name": step_name,
            "step_type": step_type,
            "request": request,
            "job_name": job_name(step_name, EXECUTION_ID),
            "execution_id": EXECUTION_ID,
            "pipeline_name": "pipeline",
            "region": REGION,
            "home": home,
            "layout": layout,
            "storage": storage,
            "uploader": Uploader(storage, layout.uploads),
            "log": _logger(layout),
            "opt_ml_mode": opt_ml_mode,
            "record_metrics": recorded_metrics.extend,
        }
        fields.update(overrides)
        return CallContext(**fields)

    return build


@pytest.fixture
def run_call() -> CallRunner:
    """Run a context's local implementation with stdout/stderr going to its step log."""

    def run(context: CallContext) -> StepOutcome:
        with _output_to(context.layout.log):
            return local_call(context.step_type).run(context)

    return run


def _logger(layout: StepLayout) -> Callable[[str], None]:
    def log(line: str) -> None:
        with layout.log.open("a") as handle:
            handle.write(line + "\n")

    return log


@contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``log`` (scripts inherit them), then restore them."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)
