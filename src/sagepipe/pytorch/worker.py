"""``python -m sagepipe.pytorch.worker NAME``: run one recorded local training job.

Started detached by :func:`~sagepipe.pytorch.jobs.start_local_job`; prints the job's log
to stdout (the job's ``job.log``) and records the outcome in the run store. The job is the
recorded CreateTrainingJob request, run by the one local training job
(:func:`sagepipe.local.calls.training.run_training_job`), as ``sagepipe train`` runs it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from sagepipe.errors import SagepipeError
from sagepipe.pytorch.jobs import COMPLETED, FAILED, JobStore, LocalJobRequest


def run(request: LocalJobRequest, store: JobStore) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Run the job's CreateTrainingJob request with the local CreateTrainingJob; return
    (status, failure reason, metric points)."""
    from sagepipe.local.calls.training import COMPLETED as DONE
    from sagepipe.local.calls.training import run_training_job
    from sagepipe.storage import get_storage

    job_dir = store.job_dir(request.job_name)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    outcome = run_training_job(
        request.create_request,
        request.job_name,
        job_dir=job_dir,
        opt_ml=job_dir / "opt-ml",
        storage=get_storage(),
        log=lambda line: print(line, flush=True),
        region=region,
        processes_per_host=request.processes_per_host,
        skip_in_code=store.home.absolute(),
    )
    for warning in outcome.warnings:
        print(f"sagepipe: warning: {warning}", flush=True)
    metrics = [
        {"name": p.name, "value": p.value, "timestamp": p.timestamp, "index": p.index}
        for p in outcome.metrics
    ]
    if outcome.status != DONE:
        return FAILED, outcome.failure_reason, metrics
    return COMPLETED, None, metrics


def main(argv: list[str]) -> int:
    """Run the job named ``argv[0]`` and record its outcome."""
    with JobStore() as store:
        name = argv[0]
        request = store.get(name).request
        try:
            status, reason, metrics = run(request, store)
        except SagepipeError as exc:
            status, reason, metrics = FAILED, str(exc), []
        except BaseException as exc:
            store.finish(name, FAILED, None, f"{type(exc).__name__}: {exc}", [])
            raise
        model_data = request.model_data if status == COMPLETED else None
        if reason:
            print(f"sagepipe: training job {name} failed: {reason}", flush=True)
        store.finish(name, status, model_data, reason, metrics)
        return 0 if status == COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
