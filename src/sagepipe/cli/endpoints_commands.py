"""``sagepipe endpoints list|describe NAME|delete NAME|runtime``: the local endpoints.

Local endpoints are the named model servers that ``deploy(instance_type="local")`` and the
pipeline's endpoint step start; they keep running until deleted. All of them answer
SageMaker's InvokeEndpoint at one address per sagepipe home, the local SageMaker runtime
(http://127.0.0.1:8089 unless SAGEPIPE_RUNTIME_PORT says otherwise, or a free port when 8089
is taken), started with the first endpoint and stopped with the last: point boto3 at it with
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=$(sagepipe endpoints runtime --url) (any credentials do).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.endpoints import EndpointRecord


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``endpoints`` command group."""
    parser = subparsers.add_parser(
        "endpoints", help="list, describe and delete local endpoints", description=__doc__
    )
    commands = parser.add_subparsers(dest="endpoints_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="the local endpoints and their status")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)
    describe = commands.add_parser("describe", help="one endpoint (DescribeEndpoint)")
    describe.add_argument("name", metavar="NAME")
    describe.set_defaults(handler=_describe)
    delete = commands.add_parser("delete", help="stop an endpoint's server (DeleteEndpoint)")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(handler=_delete)
    runtime = commands.add_parser(
        "runtime",
        help="the local SageMaker runtime URL for boto3 (started if needed)",
        description="Print the URL of the local SageMaker runtime, which answers "
        "POST /endpoints/NAME/invocations (sagemaker-runtime InvokeEndpoint) for every local "
        "endpoint, starting it if needed, and how to point boto3 at it.",
    )
    runtime.add_argument("--url", action="store_true", help="print the URL only")
    runtime.add_argument("--stop", action="store_true", help="stop the runtime instead")
    runtime.set_defaults(handler=_runtime)


def describe_record(record: EndpointRecord, runtime: str | None = None) -> dict[str, Any]:
    """An endpoint as SageMaker's ``DescribeEndpoint`` names its fields, plus local ones
    (``RuntimeUrl``: the ``endpoint_url`` of boto3's sagemaker-runtime client)."""
    return {
        "EndpointName": record.name,
        "EndpointStatus": record.status,
        "ModelDataUrl": record.model,
        "Url": record.url,
        "RuntimeUrl": runtime,
        "Pid": record.pid,
        "LogPath": record.log_path,
        "FailureReason": record.failure_reason,
        "CreationTime": _time(record.created_at),
        "LastModifiedTime": _time(record.updated_at),
    }


def _time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _list(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import list_endpoints, runtime_url

    records = list_endpoints()
    if args.json:
        runtime = runtime_url() if records else None
        print(json.dumps([describe_record(r, runtime) for r in records], indent=2))
        return 0
    if not records:
        print("no local endpoints")
        return 0
    width = max(len(r.name) for r in records)
    for record in records:
        print(f"{record.name:<{width}}  {record.status:<10}  {record.url or '-'}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import describe_endpoint, runtime_url

    print(json.dumps(describe_record(describe_endpoint(args.name), runtime_url()), indent=2))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import delete_endpoint

    record = delete_endpoint(args.name)
    print(f"endpoint {record.name} deleted")
    return 0


def _runtime(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import ensure_runtime, stop_runtime

    if args.stop:
        print("local SageMaker runtime stopped" if stop_runtime() else "no runtime was running")
        return 0
    url = ensure_runtime()
    if args.url:
        print(url)
        return 0
    print(f"local SageMaker runtime: {url}")
    print("point boto3's sagemaker-runtime client at it (any credentials and region do):")
    print(f"  export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={url}")
    print(f'  or boto3.client("sagemaker-runtime", endpoint_url="{url}")')
    print("it stops by itself once no local endpoint is left")
    return 0
