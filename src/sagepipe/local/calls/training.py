"""CreateTrainingJob, locally: the one local training job.

Pipeline ``Training`` steps run it through :class:`TrainingJob`; ``sagepipe train`` and the
``PyTorch``/``ModelTrainer`` local mode call :func:`run_training_job` with the same
CreateTrainingJob request they would send to SageMaker.

The job does what SageMaker and the PyTorch training container do (the container contract
itself is :mod:`sagepipe.training`): the code of ``sagemaker_submit_directory`` and every
channel are put on local disk, checkpoints restored from ``CheckpointConfig.S3Uri``, the
``sagemaker_program`` run (with torchrun over simulated hosts ``algo-1..N`` when a
distribution flag is set) within ``StoppingCondition.MaxRuntimeInSeconds``, metrics captured
with ``MetricDefinitions``; then checkpoints are saved, ``/opt/ml/model`` becomes
``<S3OutputPath>/<job name>/output/model.tar.gz`` and ``/opt/ml/output/data``
``output.tar.gz`` next to it. The properties are shaped like DescribeTrainingJob's response.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.common import job_arn, with_log
from sagepipe.local.calls.images import framework_version_warning, local_runtime
from sagepipe.local.calls.training_request import (
    TrainingRequest,
    read_request,
    training_problems,
)
from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import to_local
from sagepipe.local.records import MetricPoint
from sagepipe.storage import Storage

if TYPE_CHECKING:
    from sagepipe.local.uploads import Uploader
    from sagepipe.training import TrainingJobResult, TrainingJobSpec

COMPLETED = "Completed"
FAILED = "Failed"
STOPPED = "Stopped"
_TIMED_OUT = 124  # sagepipe.training's exit code for a job stopped at its deadline


@dataclass
class TrainingJobOutcome:
    """How a local training job ended.

    Attributes:
        description: Shaped like DescribeTrainingJob's response (``TrainingJobStatus``,
            ``ModelArtifacts``, ``FinalMetricDataList``, ``FailureReason``...).
        metrics: Every value captured from the log, in order.
        warnings: What the caller should show (an image's framework version, metric
            definitions that never matched, notes on input modes).
        exit_code: The script's exit status (0 on success).
        log_path: The job's log.
        outputs: ``[{"uri": ..., "objects": 1}]`` for each archive uploaded.
        process_seconds: How long the script ran.
    """

    description: dict[str, Any]
    metrics: list[MetricPoint]
    warnings: list[str]
    exit_code: int
    log_path: Path
    outputs: list[dict[str, Any]] = field(default_factory=list)
    process_seconds: float = 0.0

    @property
    def status(self) -> str:
        status: str = self.description["TrainingJobStatus"]
        return status

    @property
    def failure_reason(self) -> str | None:
        reason: str | None = self.description.get("FailureReason")
        return reason


def run_training_job(
    request: Mapping[str, Any],
    job_name: str,
    *,
    job_dir: Path,
    opt_ml: Path,
    storage: Storage,
    log: Callable[[str], None],
    region: str = "us-east-1",
    uploader: Uploader | None = None,
    install_requirements: bool = True,
    processes_per_host: int | None = None,
    skip_in_code: Path | None = None,
    warnings_dir: Path | None = None,
) -> TrainingJobOutcome:
    """Run a CreateTrainingJob request on this machine.

    Args:
        request: The CreateTrainingJob request (concrete: no pipeline expressions left).
        job_name: ``TrainingJobName``.
        job_dir: Where the job keeps its code, channels and archives.
        opt_ml: What the job's processes see as ``/opt/ml`` (``algo-N/`` per host if N > 1).
        storage: Where ``s3://`` URIs live.
        log: Gets each line of the job's output and of sagepipe's own notes.
        region: The region when the request's ``sagemaker_region`` does not say.
        uploader: Uploads the model and output archives so they can be rolled back (a
            pipeline step); without one they are stored directly.
        install_requirements: Install the code's ``requirements.txt`` first (as the toolkit).
        processes_per_host: torchrun's processes per host (no request field holds it; the
            default is the GPUs, or 1).
        skip_in_code: A directory left out when the code is a local directory holding it.
        warnings_dir: Where the image's framework-version warning is marked as given, so
            that it is given once (a pipeline's execution directory; default ``job_dir``).

    Returns:
        The outcome; a script that fails or overruns gives ``Failed``, not an exception.

    Raises:
        StepFailure: the job cannot start (a field with no local meaning, missing code or
            channel, bad metric definition), one line naming the field or URI.
    """
    from sagepipe.local.calls.training_inputs import (
        restore_checkpoints,
        save_checkpoints,
        stage_channel,
        stage_code,
    )
    from sagepipe.training import TrainingJobError, host_layouts
    from sagepipe.training import run_training_job as run_container

    problems = training_problems(job_name, request)
    if problems:
        raise StepFailure("; ".join(problems))
    created = _now()
    wanted = read_request(request, region)
    runtime = local_runtime(wanted.image)
    version_warning = (
        None if runtime is None else framework_version_warning(runtime, warnings_dir or job_dir)
    )
    warnings = [*wanted.notes, *([version_warning] if version_warning else [])]
    for warning in warnings:
        log(f"sagepipe: note: {warning}")
    code = stage_code(storage, wanted.submit_directory, job_dir / "code", skip_in_code)
    channels = {
        c.name: stage_channel(storage, c, job_dir / "channels", log) for c in wanted.channels
    }
    spec = _spec(wanted, job_name, code, channels, install_requirements, processes_per_host)
    hosts = host_layouts(spec, opt_ml)
    if wanted.checkpoint_uri:
        local = [to_local(wanted.checkpoint_path, host.base) for host in hosts]
        restore_checkpoints(storage, wanted.checkpoint_uri, local, log)
    started = _now()
    clock = time.monotonic()
    try:
        result = run_container(spec, opt_ml, log=log)
    except TrainingJobError as exc:  # it could not start: no entry point, a setup.py...
        raise StepFailure(str(exc)) from None
    seconds = time.monotonic() - clock
    if wanted.checkpoint_uri:
        local_first = to_local(wanted.checkpoint_path, hosts[0].base)
        save_checkpoints(storage, local_first, wanted.checkpoint_uri, log)
    metrics = [MetricPoint(job_name, m.name, m.value, m.timestamp, m.index) for m in result.metrics]
    warnings += [
        f"metric definition {name!r} never matched a line of the training log"
        for name in result.unmatched_metrics
    ]
    description = _description(request, wanted, job_name, metrics, created, started)
    outcome = TrainingJobOutcome(
        description, metrics, warnings, result.exit_code, result.log_path, [], seconds
    )
    if result.exit_code != 0:
        _failed(description, result)
        return outcome
    outcome.outputs = _upload(result, job_dir, description, storage, uploader, log)
    return outcome


def _spec(
    wanted: TrainingRequest,
    job_name: str,
    code: Path,
    channels: dict[str, Path],
    install_requirements: bool,
    processes_per_host: int | None,
) -> TrainingJobSpec:
    from pydantic import ValidationError

    from sagepipe.training import TrainingJobSpec

    try:
        return TrainingJobSpec(
            job_name=job_name,
            source_dir=code,
            entry_point=wanted.program,
            hyperparameters=wanted.hyperparameters,
            channels=channels,
            channel_config={c.name: c.config for c in wanted.channels},
            env=wanted.environment,
            instance_type=wanted.instance_type,
            instance_count=wanted.instance_count,
            distribution=wanted.distribution,
            processes_per_host=processes_per_host,
            metric_definitions=wanted.metric_definitions,
            max_runtime_seconds=wanted.max_runtime_seconds,
            install_requirements=install_requirements,
            region=wanted.region,
            log_level=wanted.log_level,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise StepFailure(f"training job {job_name!r}: {problems}") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _description(
    request: Mapping[str, Any],
    wanted: TrainingRequest,
    job_name: str,
    metrics: list[MetricPoint],
    created: str,
    started: str,
) -> dict[str, Any]:
    final: dict[str, MetricPoint] = {}
    for point in metrics:
        final[point.name] = point
    described: dict[str, Any] = {
        key: request[key]
        for key in (
            "AlgorithmSpecification",
            "RoleArn",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
            "Environment",
            "CheckpointConfig",
            "VpcConfig",
            "EnableNetworkIsolation",
        )
        if key in request
    }
    ended = _now()
    described.update(
        {
            "TrainingJobName": job_name,
            "TrainingJobArn": job_arn(wanted.region, "training-job", job_name),
            "TrainingJobStatus": COMPLETED,
            "SecondaryStatus": COMPLETED,
            "HyperParameters": dict(request.get("HyperParameters") or {}),
            "ModelArtifacts": {
                "S3ModelArtifacts": f"{wanted.output_path}/{job_name}/output/model.tar.gz"
            },
            "FinalMetricDataList": [
                {
                    "MetricName": p.name,
                    "Value": p.value,
                    "Timestamp": datetime.fromtimestamp(p.timestamp, timezone.utc).isoformat(),
                }
                for p in final.values()
            ],
            "CreationTime": created,
            "TrainingStartTime": started,
            "TrainingEndTime": ended,
            "LastModifiedTime": ended,
        }
    )
    return described


def _failed(description: dict[str, Any], result: TrainingJobResult) -> None:
    reason = result.failure_reason or f"the script exited with code {result.exit_code}"
    timed_out = result.exit_code == _TIMED_OUT and reason.startswith("MaxRuntimeExceeded")
    # SageMaker stops a job at its deadline: Stopped, secondary status MaxRuntimeExceeded.
    description["TrainingJobStatus"] = STOPPED if timed_out else FAILED
    description["SecondaryStatus"] = "MaxRuntimeExceeded" if timed_out else FAILED
    description["FailureReason"] = reason
    del description["ModelArtifacts"]


def _upload(
    result: TrainingJobResult,
    job_dir: Path,
    description: dict[str, Any],
    storage: Storage,
    uploader: Uploader | None,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    from sagepipe.training import make_archive

    model_uri = str(description["ModelArtifacts"]["S3ModelArtifacts"])
    output_uri = model_uri.rsplit("/", 1)[0] + "/output.tar.gz"
    archives = job_dir / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    put = storage.put_file if uploader is None else uploader.upload_file
    put(make_archive(result.model_dir, archives / "model.tar.gz"), model_uri)
    put(make_archive(result.output_data_dir, archives / "output.tar.gz"), output_uri)
    log(f"sagepipe: model: {model_uri}")
    return [{"uri": model_uri, "objects": 1}, {"uri": output_uri, "objects": 1}]


class TrainingJob:
    """The ``Training`` step: a CreateTrainingJob request run as a local training job."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        """What in the request has no local meaning (see
        :func:`~sagepipe.local.calls.training_request.training_problems`)."""
        return training_problems(step_name, arguments)

    def run(self, context: CallContext) -> StepOutcome:
        """Run the job; a failing script fails the step with its reason and the log."""
        return run_training_step(context)


def run_training_step(context: CallContext, processes_per_host: int | None = None) -> StepOutcome:
    """:meth:`TrainingJob.run`, with torchrun's processes per host (a local-only setting)."""
    layout = context.layout
    outcome = run_training_job(
        context.request,
        context.job_name,
        job_dir=layout.step_dir,
        opt_ml=layout.opt_ml,
        storage=context.storage,
        log=context.log,
        region=context.region,
        uploader=context.uploader,
        install_requirements=context.install_requirements,
        processes_per_host=processes_per_host,
        warnings_dir=layout.step_dir.parent,
    )
    context.record_metrics(
        [
            MetricPoint(context.step_name, p.name, p.value, p.timestamp, p.index)
            for p in outcome.metrics
        ]
    )
    if outcome.status != COMPLETED:
        for warning in outcome.warnings:
            context.log(f"sagepipe: warning: {warning}")
        raise StepFailure(with_log(outcome.failure_reason or FAILED, layout.log))
    return StepOutcome(
        properties=outcome.description,
        outputs=outcome.outputs,
        warnings=outcome.warnings,
        process_seconds=outcome.process_seconds,
    )
