"""``sagepipe s3 cp|ls|rm``: the ``aws s3`` commands over sagepipe's storage.

``s3://`` URIs go to the local object store or to S3 (``--storage``, else
``$SAGEPIPE_STORAGE``, else local); plain paths and ``file://`` URIs to the filesystem.
Prefixes have directory semantics: ``s3://b/data`` lists ``s3://b/data/...``.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagepipe.storage import ObjectInfo, RoutedStorage


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``s3`` and its ``cp``, ``ls`` and ``rm`` subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--storage",
        choices=("local", "s3"),
        default=None,
        help="where s3:// URIs live: the local object store or S3 "
        "(default: $SAGEPIPE_STORAGE, else local)",
    )
    common.add_argument(
        "--recursive", action="store_true", help="operate on every object under a prefix"
    )
    parser = subparsers.add_parser(
        "s3", help="copy, list and remove objects (aws s3 syntax)", description=__doc__
    )
    commands = parser.add_subparsers(dest="s3_command", metavar="SUBCOMMAND")
    commands.required = True

    cp = commands.add_parser("cp", parents=[common], help="copy files and objects")
    cp.add_argument("source", metavar="SRC", help="s3:// URI, file:// URI or path")
    cp.add_argument("destination", metavar="DST", help="s3:// URI, file:// URI or path")
    cp.set_defaults(handler=_cp)

    ls = commands.add_parser("ls", parents=[common], help="list objects and prefixes")
    ls.add_argument("uri", metavar="URI", help="s3:// prefix, file:// URI or path")
    ls.set_defaults(handler=_ls)

    rm = commands.add_parser("rm", parents=[common], help="delete objects")
    rm.add_argument("uri", metavar="URI", help="s3:// URI, file:// URI or path")
    rm.set_defaults(handler=_rm)


def _storage(args: argparse.Namespace) -> RoutedStorage:
    from sagepipe.storage import get_storage

    return get_storage(args.storage)


def _verb(source: str, destination: str) -> str:
    from sagepipe.storage import is_s3

    if is_s3(source):
        return "copy" if is_s3(destination) else "download"
    return "upload"


def _into(destination: str, name: str) -> str:
    """``destination`` itself, or ``destination/name`` when it names a directory."""
    from sagepipe.storage import is_s3, local_path

    if destination.endswith("/") or (not is_s3(destination) and local_path(destination).is_dir()):
        return destination.rstrip("/") + "/" + name
    return destination


def _cp(args: argparse.Namespace) -> int:
    from sagepipe.storage import ObjectNotFoundError, StorageError, is_s3, local_path
    from sagepipe.storage.uri import basename

    storage = _storage(args)
    source, destination = args.source, args.destination
    if not args.recursive:
        if not is_s3(source) and local_path(source).is_dir():
            raise StorageError(f"{source} is a directory; add --recursive to copy a tree")
        target = _into(destination, basename(source))
        storage.copy(source, target)
        print(f"{_verb(source, target)}: {source} to {target}")
        return 0
    objects = [info for info in storage.list(source, recursive=True) if not info.is_prefix]
    if not objects:
        raise ObjectNotFoundError(source, " (nothing to copy under that prefix)")
    base = source.rstrip("/") + "/"
    if not is_s3(source):
        base = str(local_path(source)) + "/"
    for info in objects:
        relative = info.uri[len(base) :] if info.uri.startswith(base) else basename(info.uri)
        target = destination.rstrip("/") + "/" + relative
        storage.copy(info.uri, target)
        print(f"{_verb(info.uri, target)}: {info.uri} to {target}")
    return 0


def _ls_line(info: ObjectInfo, name: str) -> str:
    if info.is_prefix:
        return f"{'PRE':>30} {name}"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.last_modified))
    return f"{stamp} {info.size:>10} {name}"


def _ls(args: argparse.Namespace) -> int:
    from sagepipe.storage import is_s3, local_path, parse_s3

    storage = _storage(args)
    uri: str = args.uri
    # aws s3 ls prints the common prefixes first, then the objects.
    infos = sorted(storage.list(uri, recursive=args.recursive), key=lambda i: not i.is_prefix)
    if is_s3(uri):
        bucket_root = f"s3://{parse_s3(uri).bucket}/"
        listed_dir = uri.rstrip("/") + "/"
    else:
        bucket_root = listed_dir = str(local_path(uri)) + "/"
    for info in infos:
        # aws s3 ls shows keys relative to the bucket when recursive, else to the prefix.
        root = bucket_root if args.recursive else listed_dir
        if info.uri.startswith(root):
            name = info.uri[len(root) :]
        else:
            name = info.uri.rstrip("/").rsplit("/", 1)[-1]
        print(_ls_line(info, name))
    return 0


def _rm(args: argparse.Namespace) -> int:
    storage = _storage(args)
    uri: str = args.uri
    if not args.recursive:
        if storage.delete(uri) == 0:
            from sagepipe.storage import ObjectNotFoundError

            raise ObjectNotFoundError(uri, "; add --recursive to delete a prefix")
        print(f"delete: {uri}")
        return 0
    objects = [info.uri for info in storage.list(uri, recursive=True) if not info.is_prefix]
    storage.delete(uri, recursive=True)
    for removed in objects:
        print(f"delete: {removed}")
    return 0
