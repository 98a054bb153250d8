"""``sagepipe config init DIR``: a commented starter pipeline config and its scripts."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    config = subparsers.add_parser(
        "config",
        help="work with config files",
        description="Work with sagepipe config files.",
    )
    commands = config.add_subparsers(dest="config_command", metavar="COMMAND")
    commands.required = True
    init = commands.add_parser(
        "init",
        help="write a starter pipeline config and its scripts",
        description="Write DIR/pipeline.yaml (a commented tabular pipeline: preprocess, "
        "train, model, packaging, payload, registration) and the scripts it runs under "
        "DIR/code/. Existing files are never overwritten.",
    )
    init.add_argument("directory", metavar="DIR", help="directory to write into (created)")
    init.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    from sagepipe.definitions.starter import write_starter

    written = write_starter(args.directory)
    for path in written:
        print(f"wrote {path}")
    print(f"next: sagepipe validate {written[0]} && sagepipe show {written[0]}")
    return 0
