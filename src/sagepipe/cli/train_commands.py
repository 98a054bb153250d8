"""``sagepipe train``: run one SageMaker-style training job locally (being written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("train", help="run one training job locally")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from sagepipe.errors import SagepipeError

    raise SagepipeError("sagepipe train is not implemented yet")
