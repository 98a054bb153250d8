"""``sagepipe registry groups|versions|show|approve|reject``: the local model registry.

Only the standard library is imported at top level; the registry is imported by handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.registry import LocalRegistry


def register(subparsers: Any) -> None:
    registry = subparsers.add_parser(
        "registry",
        help="list, show, approve and reject registered models",
        description="The local model registry (<SAGEPIPE_HOME>/registry.db): model package "
        "groups, their versions and approval statuses.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry-db",
        type=Path,
        default=None,
        metavar="PATH",
        help="the registry database (default: <SAGEPIPE_HOME>/registry.db)",
    )
    commands = registry.add_subparsers(dest="registry_command", metavar="COMMAND")
    commands.required = True

    groups = commands.add_parser("groups", parents=[common], help="list model package groups")
    groups.add_argument("--region", default=None, help="only this region")
    groups.set_defaults(handler=run_groups)

    versions = commands.add_parser(
        "versions", parents=[common], help="list the versions of a group"
    )
    versions.add_argument("group", metavar="GROUP")
    versions.add_argument("--region", default=None, help="only this region")
    versions.set_defaults(handler=run_versions)

    show = commands.add_parser(
        "show", parents=[common], help="describe a version (DescribeModelPackage JSON)"
    )
    show.add_argument("arn", metavar="ARN", help="the model package ARN")
    show.set_defaults(handler=run_show)

    for name, status in (("approve", "Approved"), ("reject", "Rejected")):
        command = commands.add_parser(
            name, parents=[common], help=f"set a version's approval status to {status}"
        )
        command.add_argument("arn", metavar="ARN", help="the model package ARN")
        command.add_argument("--reason", default="", help="why (kept in the approval history)")
        command.set_defaults(handler=run_update, status=status)


def _registry(args: argparse.Namespace) -> LocalRegistry:
    from sagepipe.registry import LocalRegistry

    return LocalRegistry(args.registry_db)


def run_groups(args: argparse.Namespace) -> int:
    groups = _registry(args).list_groups(args.region)
    if not groups:
        print("no model package groups")
    for group in groups:
        print(f"{group.model_package_group_name}  {group.region}  {group.model_package_group_arn}")
    return 0


def run_versions(args: argparse.Namespace) -> int:
    for version in _registry(args).list_versions(args.group, args.region):
        created = version.creation_time.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{version.model_package_version:>4}  {version.model_approval_status:<22}  "
            f"{created}  {version.model_package_arn}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    package = _registry(args).describe(args.arn)
    print(package.model_dump_json(by_alias=True, indent=2))
    return 0


def run_update(args: argparse.Namespace) -> int:
    package = _registry(args).update_approval(args.arn, args.status, reason=args.reason)
    print(f"{package.model_package_arn}: {package.model_approval_status}")
    return 0
