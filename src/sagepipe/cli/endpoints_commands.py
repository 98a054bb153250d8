"""``sagepipe endpoints list|describe NAME|delete NAME``: the local endpoints.

Local endpoints are the named model servers that ``deploy(instance_type="local")`` and the
pipeline's endpoint step start; they keep running until deleted.
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


def describe_record(record: EndpointRecord) -> dict[str, Any]:
    """An endpoint as SageMaker's ``DescribeEndpoint`` names its fields, plus local ones."""
    return {
        "EndpointName": record.name,
        "EndpointStatus": record.status,
        "ModelDataUrl": record.model,
        "Url": record.url,
        "Pid": record.pid,
        "LogPath": record.log_path,
        "FailureReason": record.failure_reason,
        "CreationTime": _time(record.created_at),
        "LastModifiedTime": _time(record.updated_at),
    }


def _time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _list(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import list_endpoints

    records = list_endpoints()
    if args.json:
        print(json.dumps([describe_record(r) for r in records], indent=2))
        return 0
    if not records:
        print("no local endpoints")
        return 0
    width = max(len(r.name) for r in records)
    for record in records:
        print(f"{record.name:<{width}}  {record.status:<10}  {record.url or '-'}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import describe_endpoint

    print(json.dumps(describe_record(describe_endpoint(args.name)), indent=2))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from sagepipe.endpoints import delete_endpoint

    record = delete_endpoint(args.name)
    print(f"endpoint {record.name} deleted")
    return 0
