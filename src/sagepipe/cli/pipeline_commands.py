"""``sagepipe validate PIPELINE`` and ``sagepipe show PIPELINE``.

PIPELINE is a config file with a ``pipeline:`` section or ``path/to/file.py:attribute``.
Only the standard library is imported at top level; the library is imported by the handlers.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.pipeline import Pipeline

PIPELINE_HELP = "a config file with a pipeline: section, or path/to/file.py:attribute"

#: What ``sagepipe validate --target`` checks the pipeline against, by name:
#: ``"module:function"`` of a function ``(pipeline, args) -> None`` that raises a
#: SagepipeError when the pipeline is not valid for that target. ``ir`` is the pipeline itself
#: (always checked first). A backend adds its target here and any options it needs to
#: :func:`add_validate_options`.
VALIDATE_TARGETS: dict[str, str] = {
    "ir": "sagepipe.cli.pipeline_commands:validate_ir",
    "sagemaker": "sagepipe.cli.compile_commands:validate_sagemaker",
}


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="build a pipeline and check it",
        description="Build PIPELINE, wire its inputs and check it; prints one line when valid.",
    )
    add_pipeline_argument(validate)
    add_validate_options(validate)
    validate.set_defaults(handler=run_validate)

    show = subparsers.add_parser(
        "show",
        help="show a pipeline's steps, wiring and parameters",
        description="Show PIPELINE's steps in execution order: type, code, inputs with where "
        "each comes from, outputs, and parameters.",
    )
    add_pipeline_argument(show)
    show.add_argument(
        "--json", action="store_true", help="print the pipeline's IR as deterministic JSON"
    )
    show.set_defaults(handler=run_show)


def add_pipeline_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", metavar="PIPELINE", help=PIPELINE_HELP)


def add_validate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=sorted(VALIDATE_TARGETS),
        default="ir",
        help="what to validate against (default: ir, the pipeline itself)",
    )
    # --role/--region/--bucket/--prefix of the sagemaker target (as for `sagepipe compile`).
    from sagepipe.cli.compile_commands import add_target_options

    add_target_options(parser)


def load(spec: str) -> Pipeline:
    """Load and validate the pipeline named on the command line."""
    from sagepipe.definitions import load_pipeline

    pipeline = load_pipeline(spec)
    pipeline.validate()
    return pipeline


def validate_ir(pipeline: Pipeline, args: argparse.Namespace) -> None:
    """The ``ir`` target: nothing beyond :meth:`Pipeline.validate`, done by :func:`load`."""


def run_validate(args: argparse.Namespace) -> int:
    from sagepipe.definitions.describe import count

    pipeline = load(args.pipeline)
    module_name, _, function_name = VALIDATE_TARGETS[args.target].partition(":")
    getattr(importlib.import_module(module_name), function_name)(pipeline, args)
    target = "" if args.target == "ir" else f" (valid for {args.target})"
    print(
        f"ok: {pipeline.name}: {count(len(pipeline.steps), 'step')}, "
        f"{count(len(pipeline.parameters), 'parameter')}{target}"
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from sagepipe.definitions.describe import describe_pipeline

    pipeline = load(args.pipeline)
    if args.json:
        print(pipeline.to_json(), end="")
    else:
        print(describe_pipeline(pipeline), end="")
    return 0
