"""CreateProcessingJob, locally: a ``Processing`` step's request run as SageMaker runs it.

What the request asks for and what happens here:

- ``AppSpecification.ImageUri``: must map to a local runtime (:mod:`.images`); a PyTorch image
  whose version differs from the local torch gives one warning per run.
  ``ContainerEntrypoint`` must run a script under ``/opt/ml/processing`` with Python
  (``python3 /opt/ml/processing/input/code/x.py``): it runs with this interpreter, in the
  script's directory, followed by ``ContainerArguments``. The SageMaker SDK's
  ``FrameworkProcessor`` entrypoint (``/bin/bash .../runproc.sh``) runs too, its bundle's
  ``requirements.txt`` in the cached per-requirements venv (:mod:`.runproc`); any other
  program is refused. In rewrite mode (no mount namespace) ``/opt/ml`` in the entrypoint and
  arguments becomes the host's work dir.
- ``Environment``: the script's environment on top of ours.
- ``ProcessingInputs``: downloaded before the script runs (:mod:`.processing_inputs`).
- ``ProcessingOutputConfig.Outputs``: each ``LocalPath`` exists when the script starts and is
  uploaded to its ``S3Uri`` when the job ends (``S3UploadMode`` ``Continuous`` is accepted and
  uploaded at the end too); only if every host's script exits 0.
- ``ProcessingResources.ClusterConfig.InstanceCount`` ``N``: the hosts ``algo-1`` ..
  ``algo-N`` run one after the other, each with its own ``/opt/ml`` (``resourceconfig.json``
  names it ``current_host``), its own share of ``ShardedByS3Key`` inputs, and its outputs
  uploaded to the same ``S3Uri`` (as on SageMaker, a file of the same name from a later
  host replaces an earlier one's).
- ``StoppingCondition.MaxRuntimeInSeconds``: the job (all hosts together) is stopped after
  it (SIGTERM, then SIGKILL 120 s later, as SageMaker does), and the step fails.
- ``NetworkConfig``, ``RoleArn``, ``ExperimentConfig``, instance type and volume: accepted,
  no local meaning.

``/opt/ml/config/processingjobconfig.json`` holds the request (with ``ProcessingJobName``),
``/opt/ml/config/resourceconfig.json`` the hosts. The properties are shaped like
DescribeProcessingJob.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.common import (
    ScriptTimeout,
    exit_reason,
    failure_with_tail,
    job_arn,
    log_size,
    log_tail,
    run_script,
    script_environment,
)
from sagepipe.local.calls.images import framework_version_warning, local_runtime
from sagepipe.local.calls.processing_inputs import download_inputs
from sagepipe.local.calls.processing_request import (
    entrypoint_script,
    is_shell,
    outputs_of,
    request_problems,
)
from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import rewrite_opt_ml, to_local
from sagepipe.local.protocol import write_json

_EXIT_MESSAGE_BYTES = 1024
STOP_GRACE_SECONDS = 120.0
"""As SageMaker: a job past its MaxRuntimeInSeconds gets SIGTERM, and SIGKILL 120 s later."""
ECHOED_MEMBERS = frozenset(
    {
        "AppSpecification",
        "Environment",
        "ExperimentConfig",
        "NetworkConfig",
        "ProcessingInputs",
        "ProcessingOutputConfig",
        "ProcessingResources",
        "RoleArn",
        "StoppingCondition",
    }
)
"""Members of the request that DescribeProcessingJob returns as they were given (named here,
not read from the API model, so a step process does not spend half a second loading it; a
test compares them with the model)."""


class ProcessingJob:
    """Runs a ``Processing`` step's CreateProcessingJob request."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        return [f"step {step_name!r}: {p}" for p in request_problems(arguments)]

    def run(self, context: CallContext) -> StepOutcome:
        request = context.request
        # The API model's checks ran on the definition before the run: evaluation changes
        # values, never which members exist, and loading the model costs a step 0.5 s.
        found = request_problems(request, api_model=False)
        if found:
            raise StepFailure(f"step {context.step_name!r}: {'; '.join(found)}")
        runtime = local_runtime(request["AppSpecification"]["ImageUri"])
        warnings: list[str] = []
        if runtime is not None:
            warning = framework_version_warning(runtime, context.layout.step_dir.parent)
            if warning is not None:
                warnings.append(warning)
        started = _now()
        count = int(
            request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount", 1)
        )
        hosts = [f"algo-{i}" for i in range(1, count + 1)]
        limit = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        deadline = None if limit is None else time.monotonic() + float(limit)
        seconds = 0.0
        host_dirs: list[Path] = []
        for index, host in enumerate(hosts):
            opt_ml = _host_opt_ml(context, index, host)
            host_dirs.append(opt_ml)
            seconds += _run_host(context, opt_ml, hosts, index, deadline, started)
        if context.opt_ml_mode == "namespace" and len(hosts) > 1:
            _show_opt_ml(context, context.layout.opt_ml)
        uploaded = _upload_outputs(context, host_dirs)
        properties = describe(context, "Completed", started)
        return StepOutcome(
            properties=properties, outputs=uploaded, warnings=warnings, process_seconds=seconds
        )


def _host_opt_ml(context: CallContext, index: int, host: str) -> Path:
    """What host ``host`` sees as ``/opt/ml``: the step's for ``algo-1``, its own for others."""
    if index == 0:
        return context.layout.opt_ml
    opt_ml = context.layout.step_dir / "hosts" / host / "opt" / "ml"
    if opt_ml.exists():
        shutil.rmtree(opt_ml)  # left by an earlier attempt of the step
    opt_ml.mkdir(parents=True)
    if context.opt_ml_mode == "namespace":
        _show_opt_ml(context, opt_ml)
    return opt_ml


def _show_opt_ml(context: CallContext, opt_ml: Path) -> None:
    """In the step's mount namespace, make ``/opt/ml`` show ``opt_ml``."""
    from sagepipe.local.sandbox import SandboxError, mount_opt_ml

    try:
        mount_opt_ml(opt_ml, context.layout.namespace_scratch)
    except SandboxError as exc:
        raise StepFailure(f"cannot mount {opt_ml} at /opt/ml for the next host: {exc}") from None


def _run_host(
    context: CallContext,
    opt_ml: Path,
    hosts: list[str],
    index: int,
    deadline: float | None,
    started: datetime,
) -> float:
    """Prepare one host's ``/opt/ml`` and run its script; returns the seconds it ran."""
    request, host = context.request, hosts[index]
    download_inputs(
        context.storage,
        request.get("ProcessingInputs") or [],
        opt_ml,
        (index, len(hosts)),
        context.log,
    )
    for item in outputs_of(request):
        to_local(item["S3Output"]["LocalPath"], opt_ml).mkdir(parents=True, exist_ok=True)
    config = to_local("/opt/ml/config", opt_ml)
    config.mkdir(parents=True, exist_ok=True)
    write_json(
        config / "processingjobconfig.json",
        {**request, "ProcessingJobName": context.job_name},
    )
    write_json(config / "resourceconfig.json", {"current_host": host, "hosts": hosts})
    command, cwd, script = _command(context, opt_ml)
    environment = {str(k): str(v) for k, v in (request.get("Environment") or {}).items()}
    env = script_environment(environment, opt_ml)
    timeout = None if deadline is None else max(deadline - time.monotonic(), 0.001)
    start = log_size(context.layout.log)
    on = f" on {host}" if len(hosts) > 1 else ""
    context.log(f"sagepipe: running{on}: {' '.join(command[1:])}")
    try:
        code, seconds = run_script(command, cwd, env, timeout, STOP_GRACE_SECONDS)
    except ScriptTimeout:
        limit = request["StoppingCondition"]["MaxRuntimeInSeconds"]
        reason = (
            f"MaxRuntimeExceeded: processing job {context.job_name} ran longer than "
            f"StoppingCondition.MaxRuntimeInSeconds={limit} and was stopped"
        )
        _fail(context, reason, "", started)
    if code != 0:
        tail = log_tail(context.layout.log, start)
        reason = exit_reason(f"processing script {script}{on}", code)
        _fail(context, failure_with_tail(reason, tail, context.layout.log), tail, started)
    return seconds


def _command(context: CallContext, opt_ml: Path) -> tuple[list[str], Path, str]:
    """The command line of the entrypoint and arguments, the directory it runs in, and the
    script's container path."""
    app = context.request["AppSpecification"]
    entry, arguments = app["ContainerEntrypoint"], app.get("ContainerArguments") or []
    program = str(entry[1] if is_shell(entry[0]) else entrypoint_script(entry, arguments))
    local_program = _provided(program, opt_ml)
    if is_shell(entry[0]):
        from sagepipe.local.calls.runproc import parse_runproc, prepare

        where = f"AppSpecification.ContainerEntrypoint's {program}"
        runproc = parse_runproc(local_program.read_text(errors="replace"), where)
        python, cwd, script = prepare(context, runproc, opt_ml)
        _provided(script, opt_ml)
        parts = [script, *(str(a) for a in arguments)]
    else:
        python, cwd, script = sys.executable, local_program.parent, program
        parts = [str(p) for p in [*entry[1:], *arguments]]
    if context.opt_ml_mode == "rewrite":
        parts = [rewrite_opt_ml(p, opt_ml) for p in parts]
    return [python, *parts], cwd, script


def _provided(path: str, opt_ml: Path) -> Path:
    """The local file of a container path the entrypoint runs; it must be there."""
    local = to_local(path, opt_ml)
    if not local.is_file():
        raise StepFailure(
            f"AppSpecification.ContainerEntrypoint runs {path}, which no ProcessingInput "
            "provides; add the code as an input whose LocalPath holds it"
        )
    return local


def _upload_outputs(context: CallContext, host_dirs: list[Path]) -> list[dict[str, Any]]:
    uploaded: list[dict[str, Any]] = []
    for item in outputs_of(context.request):
        name, s3 = item["OutputName"], item["S3Output"]
        written: set[str] = set()  # hosts may write the same key: one object
        for opt_ml in host_dirs:
            local = to_local(s3["LocalPath"], opt_ml)
            written.update(context.uploader.upload_tree(local, s3["S3Uri"]))
        count = len(written)
        context.log(f"sagepipe: output {name!r}: {count} file(s) to {s3['S3Uri']}")
        uploaded.append({"uri": s3["S3Uri"], "objects": count})
    return uploaded


def describe(
    context: CallContext, status: str, started: datetime, failure: str | None = None
) -> dict[str, Any]:
    """The job's properties, shaped like DescribeProcessingJob."""
    request, now = context.request, _now()
    properties: dict[str, Any] = {k: v for k, v in request.items() if k in ECHOED_MEMBERS}
    properties.update(
        {
            "ProcessingJobName": context.job_name,
            "ProcessingJobArn": job_arn(context.region, "processing-job", context.job_name),
            "ProcessingJobStatus": status,
            "CreationTime": started.isoformat(),
            "ProcessingStartTime": started.isoformat(),
            "ProcessingEndTime": now.isoformat(),
            "LastModifiedTime": now.isoformat(),
        }
    )
    if failure is not None:
        properties["FailureReason"] = failure.splitlines()[0]
    return properties


def _fail(context: CallContext, reason: str, tail: str, started: datetime) -> NoReturn:
    properties = describe(context, "Failed", started, reason)
    if tail:
        properties["ExitMessage"] = tail.encode()[-_EXIT_MESSAGE_BYTES:].decode(errors="ignore")
    raise StepFailure(reason, properties=properties)


def _now() -> datetime:
    return datetime.now(timezone.utc)
