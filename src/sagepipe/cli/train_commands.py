"""``sagepipe train``: run one SageMaker-style training job locally, without a pipeline.

Channels are materialised from storage URIs, the job runs under
``<SAGEPIPE_HOME>/jobs/<job-name>/``, and ``model.tar.gz`` and ``output.tar.gz`` go to
``<output-path>/<job-name>/output/``, as SageMaker lays them out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.storage import RoutedStorage

DEFAULT_OUTPUT_PATH = "s3://sagepipe-local/training-jobs"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train", help="run one training job locally, as SageMaker would", description=__doc__
    )
    parser.add_argument("--entry-point", required=True, metavar="FILE", help="script to run")
    parser.add_argument(
        "--source-dir", required=True, type=Path, metavar="DIR", help="directory of the code"
    )
    parser.add_argument(
        "--channel", action="append", default=[], metavar="NAME=URI",
        help="an input channel from an s3:// URI, file:// URI or path (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--hyperparameter", action="append", default=[], metavar="KEY=VALUE",
        help="passed as --KEY VALUE; VALUE is read as JSON when it parses (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--metric-definition", action="append", default=[], metavar="NAME=REGEX",
        help="capture a metric from the log with a regex with one group (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="an extra environment variable of the job (repeatable)",
    )  # fmt: skip
    parser.add_argument("--instance-count", type=int, default=1, metavar="N")
    parser.add_argument("--instance-type", default="local", metavar="TYPE")
    parser.add_argument("--distribution", choices=("torch_distributed", "pytorchddp"))
    parser.add_argument("--processes-per-host", type=int, metavar="N")
    parser.add_argument("--max-runtime-seconds", type=int, metavar="S")
    parser.add_argument(
        "--output-path", default=DEFAULT_OUTPUT_PATH, metavar="URI",
        help=f"where <job-name>/output/model.tar.gz goes (default {DEFAULT_OUTPUT_PATH})",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint-s3-uri", metavar="URI",
        help="restore checkpoints/ from this URI before the job and sync it back after",
    )  # fmt: skip
    parser.add_argument("--job-name", metavar="NAME", help="default: pytorch-training-<time>")
    parser.add_argument(
        "--no-requirements", action="store_true", help="do not install requirements.txt"
    )
    parser.add_argument(
        "--storage", choices=("local", "s3"), default=None,
        help="where s3:// URIs live (default: $SAGEPIPE_STORAGE, else local)",
    )  # fmt: skip
    parser.set_defaults(handler=_train)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    from sagepipe.errors import SagepipeError

    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SagepipeError(f"{option} {item!r} must look like NAME=VALUE")
        pairs[name] = value
    return pairs


def _hyperparameter(value: str) -> Any:
    """JSON when it parses (3 -> 3, true -> True), else the string, like the toolkit."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _default_job_name() -> str:
    # The SDK's default: base name plus a UTC timestamp with milliseconds.
    now = time.time()
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
    return f"pytorch-training-{stamp}-{int(now * 1000) % 1000:03d}"


def _materialise(storage: RoutedStorage, name: str, uri: str, target: Path) -> Path:
    from sagepipe.storage import is_s3, local_path

    if not is_s3(uri) and local_path(uri).is_dir():
        return local_path(uri)
    storage.get_prefix(uri, target)
    return target


def _train(args: argparse.Namespace) -> int:
    from sagepipe.errors import SagepipeError
    from sagepipe.storage import get_storage, sagepipe_home

    storage = get_storage(args.storage)
    job_name = args.job_name or _default_job_name()
    job_dir = sagepipe_home() / "jobs" / job_name
    if job_dir.exists():
        raise SagepipeError(
            f"training job {job_name!r} already exists in {job_dir}; choose another "
            "--job-name or delete that directory"
        )
    try:
        return _run_job(args, storage, job_name, job_dir)
    except SagepipeError:
        # A job that could not start leaves no directory behind to block its name.
        if not (job_dir / "opt-ml" / "training.log").exists():
            shutil.rmtree(job_dir, ignore_errors=True)
        raise


def _run_job(args: argparse.Namespace, storage: RoutedStorage, job_name: str, job_dir: Path) -> int:
    from pydantic import ValidationError

    from sagepipe.errors import SagepipeError
    from sagepipe.training import TrainingJobSpec, host_layouts, make_archive, run_training_job

    channels = {
        name: _materialise(storage, name, uri, job_dir / "channels" / name)
        for name, uri in _pairs(args.channel, "--channel").items()
    }
    try:
        spec = TrainingJobSpec(
            job_name=job_name,
            source_dir=args.source_dir.absolute(),
            entry_point=args.entry_point,
            hyperparameters={
                k: _hyperparameter(v)
                for k, v in _pairs(args.hyperparameter, "--hyperparameter").items()
            },
            channels=channels,
            env=_pairs(args.env, "--env"),
            instance_type=args.instance_type,
            instance_count=args.instance_count,
            distribution=args.distribution,
            processes_per_host=args.processes_per_host,
            metric_definitions=[
                {"Name": k, "Regex": v}
                for k, v in _pairs(args.metric_definition, "--metric-definition").items()
            ],
            max_runtime_seconds=args.max_runtime_seconds,
            install_requirements=not args.no_requirements,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SagepipeError(f"invalid training job: {problems}") from None

    workdir = job_dir / "opt-ml"
    layouts = host_layouts(spec, workdir)
    if args.checkpoint_s3_uri and storage.list(args.checkpoint_s3_uri):
        for layout in layouts:
            storage.get_prefix(args.checkpoint_s3_uri, layout.checkpoints)
        print(f"checkpoints restored from {args.checkpoint_s3_uri}", flush=True)

    result = run_training_job(spec, workdir, log=lambda line: print(line, flush=True))
    for name in result.unmatched_metrics:
        print(f"sagepipe: warning: metric {name!r} never matched a line of the log", flush=True)
    if args.checkpoint_s3_uri and any(result.checkpoint_dir.iterdir()):
        storage.put_dir(result.checkpoint_dir, args.checkpoint_s3_uri)
        print(f"checkpoints saved to {args.checkpoint_s3_uri}", flush=True)
    if result.exit_code != 0:
        print(
            f"sagepipe: training job {job_name} failed (exit code {result.exit_code}):\n"
            f"{result.failure_reason}\nlog: {result.log_path}",
            file=sys.stderr,
        )
        return 1

    destination = f"{args.output_path.rstrip('/')}/{job_name}/output"
    model = make_archive(result.model_dir, job_dir / "model.tar.gz")
    output = make_archive(result.output_data_dir, job_dir / "output.tar.gz")
    storage.put_file(model, f"{destination}/model.tar.gz")
    storage.put_file(output, f"{destination}/output.tar.gz")
    for metric in _last_values(result.metrics):
        print(metric)
    print(f"model: {destination}/model.tar.gz")
    print(f"output: {destination}/output.tar.gz")
    return 0


def _last_values(points: list[Any]) -> list[str]:
    last: dict[str, float] = {}
    for point in points:
        last[point.name] = point.value
    return [f"metric {name}: {value:g}" for name, value in last.items()]
