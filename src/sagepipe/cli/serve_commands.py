"""``sagepipe serve``, ``sagepipe transform`` and ``sagepipe invoke``.

Only the standard library is imported here; the server, torch and boto3 load in handlers.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

MODEL_HELP = (
    "model.tar.gz path or s3:// URI, an extracted model directory, or (serve) a model "
    "package ARN of the local registry"
)


def register(subparsers: Any) -> None:
    _register_serve(subparsers)
    _register_transform(subparsers)
    _register_invoke(subparsers)


def _add_code_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    parser.add_argument(
        "--entry-point",
        help="inference script (default: $SAGEMAKER_PROGRAM or inference.py in the code dir); "
        "a path (dir/serve.py) without --source-dir is added to MODEL's code/, as the SDK's "
        "repack does",
    )
    parser.add_argument(
        "--source-dir",
        help="directory (or sourcedir.tar.gz) with the script (default: MODEL's code/)",
    )


def _register_serve(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="serve a model as SageMaker's PyTorch container does",
        description="Serve MODEL over HTTP: GET /ping, POST /invocations, GET "
        "/execution-parameters. Limits come from the model's environment "
        "(SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_MAX_CONCURRENT_INVOCATIONS, "
        "SAGEMAKER_MODEL_SERVER_TIMEOUT, ...). SIGTERM drains in-flight requests.",
    )
    _add_code_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port; 0 picks a free one")
    serve.add_argument("--workers", type=int, help="worker processes (default: cores)")
    serve.add_argument(
        "--max-batch-size",
        type=int,
        help="dynamic batching: largest batch (default $SAGEMAKER_TS_BATCH_SIZE or 1, off)",
    )
    serve.add_argument(
        "--max-batch-delay-ms",
        type=float,
        help="how long an idle worker waits for a batch to fill "
        "(default $SAGEMAKER_TS_MAX_BATCH_DELAY or 0)",
    )
    serve.add_argument(
        "--max-queue",
        type=int,
        help="invocations a worker queues beyond its in-flight limit before answering 503 "
        "(default $SAGEPIPE_MAX_QUEUE_SIZE or 100)",
    )
    serve.set_defaults(handler=run_serve)


def _register_transform(subparsers: Any) -> None:
    transform = subparsers.add_parser(
        "transform",
        help="run a batch transform job locally",
        description="Send every object under --input through MODEL's handlers (in worker "
        "processes, no HTTP) and write <name>.out under --output, as SageMaker does.",
    )
    _add_code_options(transform)
    transform.add_argument("--input", required=True, help="file, directory or s3:// prefix")
    transform.add_argument("--output", required=True, help="directory or s3:// prefix")
    transform.add_argument("--content-type", default="text/csv", help="default text/csv")
    transform.add_argument("--accept", help="default $SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT or JSON")
    transform.add_argument("--split-type", choices=("Line", "None"), default="None")
    transform.add_argument(
        "--batch-strategy", choices=("SingleRecord", "MultiRecord"), default="SingleRecord"
    )
    transform.add_argument("--max-payload-mb", type=int, default=6, help="0 for no limit")
    transform.add_argument("--assemble-with", choices=("Line", "None"), default="None")
    transform.add_argument("--join-source", choices=("Input", "None"), default="None")
    transform.add_argument(
        "--input-filter", default="$", help="JSONPath of what each input record sends"
    )
    transform.add_argument(
        "--output-filter", default="$", help="JSONPath of what each output record keeps"
    )
    transform.add_argument("--max-concurrent", type=int, default=1, help="worker processes")
    transform.set_defaults(handler=run_transform_command)


def _register_invoke(subparsers: Any) -> None:
    invoke = subparsers.add_parser(
        "invoke",
        help="send one request to a model server or SageMaker endpoint",
        description="POST --data to URL_OR_NAME (a local server URL or a SageMaker endpoint "
        "name) and write the response body to stdout.",
    )
    invoke.add_argument("endpoint", metavar="URL_OR_NAME")
    invoke.add_argument("--content-type", default="application/json")
    invoke.add_argument("--accept", default="*/*")
    invoke.add_argument("--data", required=True, help="@FILE to send a file, else the literal text")
    invoke.add_argument("--custom-attributes", help="X-Amzn-SageMaker-Custom-Attributes value")
    invoke.set_defaults(handler=run_invoke)


def resolve_model(spec: str) -> str:
    """MODEL as a path or URI to serve: a model package ARN of the local registry serves the
    package's model data; the name of a model created by a pipeline run (its ``ModelName``)
    serves that model's data with its container environment."""
    import os
    import re
    from pathlib import Path

    # The registry (and pydantic with it) is imported only for an ARN: `serve` is timed from
    # launch to the first answered request, and everything imported before torch counts.
    if spec.strip().startswith("arn:"):
        from sagepipe.registry import is_model_package_arn, resolve_model_package

        if is_model_package_arn(spec):
            return resolve_model_package(spec)
    # SageMaker model names have no dots or slashes; anything else is a path or URI, whose
    # errors (e.g. a missing file) the server reports itself.
    if Path(spec).exists() or not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", spec):
        return spec
    from sagepipe.local.errors import ModelNotFoundError
    from sagepipe.local.store import RunStore
    from sagepipe.serving.errors import ModelSourceError
    from sagepipe.storage import sagepipe_home

    store = RunStore.open(sagepipe_home())
    try:
        record = store.model(spec)
    except ModelNotFoundError:
        raise ModelSourceError(
            f"MODEL {spec!r} is not a file, a directory, an s3:// URI, a model package ARN, "
            "or the name of a model created by a pipeline run (see the model step's ModelName "
            "in `sagepipe executions show ID`)"
        ) from None
    finally:
        store.close()
    # SageMaker starts the model's container with its environment; explicit variables win.
    # The PyTorch inference container takes the code from the archive's code/ whatever
    # SAGEMAKER_SUBMIT_DIRECTORY says (the toolkit never reads it), so the server does too.
    for name, value in record.environment.items():
        if name != "SAGEMAKER_SUBMIT_DIRECTORY":
            os.environ.setdefault(name, value)
    return record.model_data_url


def run_serve(args: argparse.Namespace) -> int:
    from sagepipe.dependencies import require
    from sagepipe.serving.server import serve

    # The workers import torch in child processes: say what to install before starting them.
    require("torch")

    def ready(url: str) -> None:
        print(f"sagepipe serve: listening on {url}", flush=True)

    serve(
        resolve_model(args.model),
        entry_point=args.entry_point,
        source_dir=args.source_dir,
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_batch_size=args.max_batch_size,
        max_batch_delay_ms=args.max_batch_delay_ms,
        max_queue=args.max_queue,
        on_ready=ready,
    )
    print("sagepipe serve: stopped", flush=True)
    return 0


def run_transform_command(args: argparse.Namespace) -> int:
    from sagepipe.dependencies import require
    from sagepipe.serving.transform import run_transform

    require("torch")

    result = run_transform(
        resolve_model(args.model),
        args.input,
        args.output,
        content_type=args.content_type,
        accept=args.accept,
        split_type=args.split_type,
        batch_strategy=args.batch_strategy,
        max_payload_mb=args.max_payload_mb,
        assemble_with=args.assemble_with,
        join_source=args.join_source,
        input_filter=args.input_filter,
        output_filter=args.output_filter,
        max_concurrent=args.max_concurrent,
        entry_point=args.entry_point,
        source_dir=args.source_dir,
    )
    for output in result.outputs:
        print(output)
    print(f"transformed {result.records} records in {result.requests} requests", file=sys.stderr)
    return 0


def run_invoke(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sagepipe.errors import SagepipeError
    from sagepipe.serving.deserializers import BytesDeserializer
    from sagepipe.serving.predictor import Predictor
    from sagepipe.serving.serializers import IdentitySerializer

    if args.data.startswith("@"):
        path = Path(args.data[1:])
        if not path.is_file():
            raise SagepipeError(f"--data {args.data}: {path} is not a file")
        body = path.read_bytes()
    else:
        body = args.data.encode("utf-8")
    predictor = Predictor(
        args.endpoint, IdentitySerializer(args.content_type), BytesDeserializer(args.accept)
    )
    result = predictor.predict(body, custom_attributes=args.custom_attributes)
    sys.stdout.buffer.write(result)
    sys.stdout.buffer.flush()
    return 0
