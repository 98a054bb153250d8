"""``python -m sagepipe.pytorch.worker NAME``: run one recorded local training job.

Started detached by :func:`~sagepipe.pytorch.jobs.start_local_job`; prints the job's log
to stdout (the job's ``job.log``) and records the outcome in the run store. The steps are
those of ``sagepipe train``: materialise channels, restore checkpoints, run, upload
``model.tar.gz`` and ``output.tar.gz`` under ``<output_path>/<job>/output/``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from sagepipe.errors import SagepipeError
from sagepipe.pytorch.jobs import COMPLETED, FAILED, JobStore, LocalJobRequest


def _stage_code(request: LocalJobRequest, target: Path) -> Path:
    """Copy ``source_dir`` and each dependency (as the SDK bundles them) into ``target``."""
    if target.exists():
        shutil.rmtree(target)
    home = target.parents[2].absolute()  # <home>/jobs/<name>/source

    def inside_home(directory: str, names: list[str]) -> set[str]:
        # A source_dir that holds the sagepipe home must not copy the job into itself.
        return {n for n in names if (Path(directory) / n).absolute() == home}

    shutil.copytree(request.source_dir, target, ignore=inside_home)
    for dependency in map(Path, request.dependencies):
        if dependency.is_dir():
            shutil.copytree(dependency, target / dependency.name)
        else:
            shutil.copy2(dependency, target / dependency.name)
    return target


def run(request: LocalJobRequest, store: JobStore) -> tuple[str, str | None, list[dict[str, Any]]]:
    """Run the job; return (status, failure reason, metric points)."""
    from sagepipe.storage import get_storage, is_s3, local_path
    from sagepipe.training import TrainingJobSpec, host_layouts, make_archive, run_training_job

    storage = get_storage()
    job_dir = store.job_dir(request.job_name)
    channels: dict[str, Path] = {}
    for name, uri in request.channels.items():
        if not is_s3(uri) and local_path(uri).is_dir():
            channels[name] = local_path(uri).absolute()
        else:
            target = job_dir / "channels" / name
            if not storage.get_prefix(uri, target):
                return FAILED, f"channel {name!r}: no objects under {uri}", []
            channels[name] = target
    spec = TrainingJobSpec(
        job_name=request.job_name,
        source_dir=_stage_code(request, job_dir / "source"),
        entry_point=request.entry_point,
        hyperparameters=request.hyperparameters,
        channels=channels,
        env=request.environment,
        instance_type=request.instance_type,
        instance_count=request.instance_count,
        distribution=request.distribution,
        processes_per_host=request.processes_per_host,
        metric_definitions=request.metric_definitions,
        max_runtime_seconds=request.max_run,
    )
    workdir = job_dir / "opt-ml"
    checkpoints = request.checkpoint_s3_uri
    if checkpoints and storage.list(checkpoints):
        for layout in host_layouts(spec, workdir):
            storage.get_prefix(checkpoints, layout.checkpoints)
        print(f"checkpoints restored from {checkpoints}", flush=True)
    result = run_training_job(spec, workdir, log=lambda line: print(line, flush=True))
    metrics = [point.model_dump() for point in result.metrics]
    if checkpoints and any(result.checkpoint_dir.iterdir()):
        storage.put_dir(result.checkpoint_dir, checkpoints)
    if not result.succeeded:
        return FAILED, result.failure_reason, metrics
    destination = request.model_data.rsplit("/", 1)[0]
    storage.put_file(make_archive(result.model_dir, job_dir / "model.tar.gz"), request.model_data)
    output = make_archive(result.output_data_dir, job_dir / "output.tar.gz")
    storage.put_file(output, f"{destination}/output.tar.gz")
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
