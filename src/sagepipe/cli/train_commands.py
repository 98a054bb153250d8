"""``sagepipe train``: run one SageMaker-style training job locally, without a pipeline.

The options become the CreateTrainingJob request SageMaker would get (the code as a
``file://`` submit directory), run by the local CreateTrainingJob: channels are downloaded
from storage URIs (or read in place from directories), the job runs under
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
    parser.add_argument(
        "--max-runtime-seconds", type=int, default=86400, metavar="S",
        help="stop the job after S seconds (default 86400, as SageMaker's)",
    )  # fmt: skip
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


def _channel_uri(uri: str) -> str:
    """``s3://`` and ``file://`` URIs as they are; a path as a ``file://`` URI."""
    from sagepipe.storage import is_s3

    if is_s3(uri) or uri.startswith("file://"):
        return uri
    return Path(uri).absolute().as_uri()


def _request(args: argparse.Namespace, job_name: str, region: str) -> dict[str, Any]:
    """The CreateTrainingJob request of the options, built as for SageMaker."""
    from sagepipe.sagemaker.training_request import (
        create_training_job_request,
        local_training_image,
        s3_channel,
        training_hyperparameters,
    )

    hyperparameters = training_hyperparameters(
        {k: _hyperparameter(v) for k, v in _pairs(args.hyperparameter, "--hyperparameter").items()},
        entry_point=args.entry_point,
        submit_directory=args.source_dir.absolute().as_uri(),
        region=region,
        distribution=args.distribution,
        instance_type=args.instance_type,
        job_name=job_name,
    )
    return create_training_job_request(
        image=local_training_image(region),
        hyperparameters=hyperparameters,
        output_path=args.output_path,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        max_runtime_seconds=args.max_runtime_seconds,
        channels=[
            s3_channel(name, _channel_uri(uri))
            for name, uri in _pairs(args.channel, "--channel").items()
        ],
        metric_definitions=[
            {"Name": k, "Regex": v}
            for k, v in _pairs(args.metric_definition, "--metric-definition").items()
        ],
        environment=_pairs(args.env, "--env"),
        checkpoint_s3_uri=args.checkpoint_s3_uri,
        job_name=job_name,
    )


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
    import os

    from sagepipe.local.calls.training import COMPLETED, run_training_job
    from sagepipe.storage import sagepipe_home

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    outcome = run_training_job(
        _request(args, job_name, region),
        job_name,
        job_dir=job_dir,
        opt_ml=job_dir / "opt-ml",
        storage=storage,
        log=lambda line: print(line, flush=True),
        region=region,
        install_requirements=not args.no_requirements,
        processes_per_host=args.processes_per_host,
        skip_in_code=sagepipe_home().absolute(),
    )
    for warning in outcome.warnings:
        print(f"sagepipe: warning: {warning}", flush=True)
    if outcome.status != COMPLETED:
        print(
            f"sagepipe: training job {job_name} failed (exit code {outcome.exit_code}):\n"
            f"{outcome.failure_reason}\nlog: {outcome.log_path}",
            file=sys.stderr,
        )
        return 1
    for metric in outcome.description["FinalMetricDataList"]:
        print(f"metric {metric['MetricName']}: {metric['Value']:g}")
    model = outcome.description["ModelArtifacts"]["S3ModelArtifacts"]
    print(f"model: {model}")
    print(f"output: {model.rsplit('/', 1)[0]}/output.tar.gz")
    return 0
