"""``run_training_job``: one SageMaker-style training job on this machine, no container."""

from __future__ import annotations

import collections
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from sagepipe.errors import did_you_mean
from sagepipe.storage import sagepipe_home
from sagepipe.training.environment import (
    HostLayout,
    cpu_count,
    host_names,
    num_gpus,
    prepare_host,
)
from sagepipe.training.errors import TrainingJobError
from sagepipe.training.failure import failure_reason
from sagepipe.training.launcher import HostCommand, free_port, python_command, run_hosts
from sagepipe.training.metrics import MetricCollector
from sagepipe.training.requirements import RequirementsError, ensure_requirements_venv
from sagepipe.training.sm_env import container_env
from sagepipe.training.spec import TrainingJobResult, TrainingJobSpec

LOG_NAME = "training.log"
#: What a job logs before the command it runs (as the training toolkit words it); only a
#: requirements install, when there is one, is logged before it.
INVOKING = "Invoking script with the following command: "
_KEPT_LINES = 2000  # enough log for a failure reason without holding a long log in memory


def _check(spec: TrainingJobSpec) -> None:
    source = spec.source_dir
    if not source.is_dir():
        raise TrainingJobError(f"source_dir {source} is not a directory; point it at your code")
    if not (source / spec.entry_point).is_file():
        scripts = [p.relative_to(source).as_posix() for p in source.rglob("*.py")]
        raise TrainingJobError(
            f"entry point {spec.entry_point!r} is not a file in {source}"
            f"{did_you_mean(spec.entry_point, scripts)}"
        )
    if not spec.entry_point.endswith(".sh") and (source / "setup.py").exists():
        raise TrainingJobError(
            f"{source} has a setup.py, which the toolkit would install as a package; local "
            "jobs run scripts only: remove setup.py or list dependencies in requirements.txt"
        )
    if spec.distribution is not None and not spec.entry_point.endswith(".py"):
        raise TrainingJobError(
            f"distribution {spec.distribution!r} launches a Python script with torchrun; "
            f"entry point {spec.entry_point!r} is not a .py file"
        )
    for name, path in spec.channels.items():
        if not path.is_dir():
            raise TrainingJobError(
                f"channel {name!r}: {path} is not a directory; materialise the channel's "
                "data there before running the job"
            )


def host_layouts(spec: TrainingJobSpec, workdir: Path) -> list[HostLayout]:
    """Each host's tree: ``workdir`` itself for one host, ``workdir/algo-N`` for several."""
    hosts = host_names(spec.instance_count)
    if len(hosts) == 1:
        return [HostLayout(hosts[0], workdir.absolute())]
    return [HostLayout(host, workdir.absolute() / host) for host in hosts]


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def run_training_job(
    spec: TrainingJobSpec, workdir: Path, log: Callable[[str], None] | None = None
) -> TrainingJobResult:
    """Run ``spec`` with ``workdir`` as its ``/opt/ml`` (``workdir/algo-N`` per host if N > 1).

    Args:
        spec: The job.
        workdir: Becomes the container tree; the log goes to ``workdir/training.log``.
        log: Called with each line of output (prefixed ``[algo-N]`` for several hosts).

    Returns:
        The result; a failing script or requirements install gives ``exit_code != 0`` and a
        ``failure_reason``, not an exception.

    Raises:
        TrainingJobError: if the job cannot start (missing source, entry point or channel).
    """
    _check(spec)
    workdir = workdir.absolute()
    hosts = host_names(spec.instance_count)
    single = len(hosts) == 1
    layouts = host_layouts(spec, workdir)
    region = spec.region or _region()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / LOG_NAME
    recent: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
    collector = MetricCollector(spec.metric_definitions)
    first = layouts[0]

    with log_path.open("w", encoding="utf-8", buffering=1) as log_file:

        def emit(line: str) -> None:
            log_file.write(line + "\n")
            recent.append(line)
            if log is not None:
                log(line)

        def result(exit_code: int, reason: str | None) -> TrainingJobResult:
            if reason is not None and not first.failure_file.exists():
                first.failure_file.write_text(reason + "\n")  # as the toolkit does
            return TrainingJobResult(
                exit_code=exit_code,
                failure_reason=reason,
                model_dir=first.model,
                output_data_dir=first.output_data,
                checkpoint_dir=first.checkpoints,
                metrics=collector.points,
                unmatched_metrics=collector.unmatched,
                log_path=log_path,
            )

        for layout in layouts:
            prepare_host(layout, spec, hosts, region)
            if layout.failure_file.exists():
                layout.failure_file.unlink()  # left over from an earlier attempt

        python = sys.executable
        requirements = spec.source_dir / "requirements.txt"
        if spec.install_requirements and requirements.is_file():
            try:
                python = str(ensure_requirements_venv(requirements, sagepipe_home(), emit))
            except RequirementsError as exc:
                return result(1, str(exc))

        gpus, cpus = num_gpus(), cpu_count()
        nproc = spec.processes_per_host or max(gpus, 1)
        port = free_port()
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
        commands: list[HostCommand] = []
        for rank, layout in enumerate(layouts):
            env = {**inherited, **container_env(layout, spec, hosts, region, gpus, cpus)}
            if not single and spec.distribution is None:
                # What torchrun would set, so scripts using init_method="env://" work.
                env.update(
                    MASTER_ADDR="127.0.0.1",
                    MASTER_PORT=str(port),
                    WORLD_SIZE=str(len(hosts)),
                    RANK=str(rank),
                    LOCAL_RANK="0",
                )
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(layout.code), inherited.get("PYTHONPATH", "")) if p
            )
            env.update(spec.env)
            argv = python_command(
                python,
                spec.entry_point,
                _user_args(env),
                torchrun=spec.distribution is not None,
                nnodes=len(hosts),
                nproc_per_node=nproc,
                node_rank=rank,
                master_port=port,
            )
            commands.append(HostCommand(layout.host, argv, env, layout.code))

        # As the toolkit logs it: what the script was given is the first thing to check when
        # its argument parser fails. Not one of the script's lines: failure reasons quote those.
        invoking = f"{INVOKING}{shlex.join(commands[0].argv)}"
        log_file.write(invoking + "\n")
        if log is not None:
            log(invoking)

        def on_line(host: str, line: str) -> None:
            collector.feed(line)
            emit(line if single else f"[{host}] {line}")

        launched = run_hosts(commands, on_line, spec.max_runtime_seconds)
        if launched.timed_out:
            return result(
                124,
                f"MaxRuntimeExceeded: the job ran longer than max_runtime_seconds="
                f"{spec.max_runtime_seconds} and was stopped",
            )
        failed = launched.first_failed
        if failed is None:
            failed = next((i for i, c in enumerate(launched.exit_codes) if c != 0), None)
        if failed is None:
            return result(0, None)
        code = launched.exit_codes[failed]
        files = [layouts[failed].failure_file, *(lay.failure_file for lay in layouts)]
        return result(code, failure_reason(files, list(recent), code))


def _user_args(env: dict[str, str]) -> list[str]:
    import json

    args: list[str] = json.loads(env["SM_USER_ARGS"])
    return args
