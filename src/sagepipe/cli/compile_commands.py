"""``sagepipe compile``, ``sagepipe submit`` and ``sagepipe describe``: the SageMaker backend.

Only the standard library is imported at top level; the compiler and boto3 are imported by
the handlers.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.pipeline import Pipeline
    from sagepipe.sagemaker import CompiledPipeline

PIPELINE_HELP = "a config file with a pipeline: section, or path/to/file.py:attribute"


def register(subparsers: Any) -> None:
    compile_ = subparsers.add_parser(
        "compile",
        help="compile a pipeline to a SageMaker pipeline definition (offline)",
        description="Compile PIPELINE to a SageMaker pipeline definition, validated against "
        "SageMaker's API model. Offline and deterministic: nothing is uploaded unless "
        "--upload is given.",
    )
    compile_.add_argument("pipeline", metavar="PIPELINE", help=PIPELINE_HELP)
    compile_.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="where to write (default: stdout)"
    )
    add_target_options(compile_)
    compile_.add_argument(
        "--upload", action="store_true", help="also upload the code and local inputs to S3"
    )
    compile_.set_defaults(handler=run_compile)

    submit = subparsers.add_parser(
        "submit",
        help="upload, create or update the SageMaker pipeline, optionally start and follow it",
        description="Compile PIPELINE, upload its code and local inputs, create or update "
        "the SageMaker pipeline, and with --start run it (--wait follows it to the end).",
    )
    submit.add_argument("pipeline", metavar="PIPELINE", help=PIPELINE_HELP)
    add_target_options(submit)
    submit.add_argument("--start", action="store_true", help="start an execution")
    submit.add_argument(
        "--wait", action="store_true", help="start an execution and follow it until it ends"
    )
    submit.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline parameter of the execution (repeatable)",
    )
    submit.add_argument(
        "--poll", type=float, default=15.0, metavar="SECONDS", help=argparse.SUPPRESS
    )
    submit.set_defaults(handler=run_submit)

    describe = subparsers.add_parser(
        "describe",
        help="show a SageMaker pipeline execution's status and steps",
        description="Show the status of a SageMaker pipeline execution, each step's status, "
        "and each failed step's reason.",
    )
    describe.add_argument("execution_arn", metavar="EXECUTION_ARN")
    describe.set_defaults(handler=run_describe)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--role``, ``--region``, ``--bucket``, ``--prefix`` (they override the configs)."""
    parser.add_argument("--role", metavar="ARN", help="IAM role of the pipeline and its steps")
    parser.add_argument("--region", metavar="REGION", help="AWS region of the pipeline")
    parser.add_argument("--bucket", metavar="BUCKET", help="S3 bucket for code and outputs")
    parser.add_argument("--prefix", metavar="PREFIX", help="S3 key prefix (default: pipeline name)")


def compile_from_args(pipeline: Pipeline, args: argparse.Namespace) -> CompiledPipeline:
    """Compile (and validate) with the target options found in ``args``."""
    from sagepipe.sagemaker import CompileOptions, compile_pipeline

    options = CompileOptions(
        role=getattr(args, "role", None),
        region=getattr(args, "region", None),
        bucket=getattr(args, "bucket", None),
        prefix=getattr(args, "prefix", None),
    )
    compiled = compile_pipeline(pipeline, options)
    for warning in compiled.warnings:
        print(f"sagepipe: warning: {warning}", file=sys.stderr)
    return compiled


def validate_sagemaker(pipeline: Pipeline, args: argparse.Namespace) -> None:
    """``sagepipe validate --target sagemaker``: compile and validate, writing nothing."""
    compile_from_args(pipeline, args)


def run_compile(args: argparse.Namespace) -> int:
    from sagepipe.definitions import load_pipeline

    pipeline = load_pipeline(args.pipeline)
    compiled = compile_from_args(pipeline, args)
    text = compiled.to_json()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from pathlib import Path

        Path(args.output).write_text(text)
        steps = compiled.definition["Steps"]
        target = compiled.target
        print(
            f"wrote {args.output}: {len(steps) if isinstance(steps, list) else 0} steps for "
            f"{target.region}, s3://{target.bucket}/{target.prefix}",
            file=sys.stderr,
        )
    if args.upload:
        from sagepipe.sagemaker import aws
        from sagepipe.sagemaker.upload import upload_all

        upload_all(aws.client("s3", compiled.target.region), compiled.uploads, _stderr)
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from sagepipe.definitions import load_pipeline
    from sagepipe.sagemaker import aws
    from sagepipe.sagemaker.follow import wait
    from sagepipe.sagemaker.submit import submit

    pipeline = load_pipeline(args.pipeline)
    compiled = compile_from_args(pipeline, args)
    parameters = dict(_parse_param(item) for item in args.param)
    region = compiled.target.region
    sagemaker = aws.client("sagemaker", region)
    submission = submit(
        sagemaker,
        aws.client("s3", region),
        pipeline,
        compiled,
        start=args.start or args.wait,
        parameters=parameters,
    )
    if args.wait and submission.execution_arn:
        state = wait(sagemaker, submission.execution_arn, poll_seconds=args.poll)
        return 0 if state.status == "Succeeded" else 1
    return 0


def run_describe(args: argparse.Namespace) -> int:
    from sagepipe.sagemaker import aws
    from sagepipe.sagemaker.follow import describe_lines, execution_state, region_of

    region = region_of(args.execution_arn)
    state = execution_state(aws.client("sagemaker", region), args.execution_arn)
    for line in describe_lines(state):
        print(line)
    return 0


def _parse_param(item: str) -> tuple[str, str]:
    from sagepipe.sagemaker.errors import SubmitError

    name, equals, value = item.partition("=")
    if not equals or not name:
        raise SubmitError(
            f"--param {item!r}: write NAME=VALUE, e.g. --param InstanceType=ml.g5.xlarge"
        )
    return name, value


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
