"""The ``sagepipe`` entry point.

Each command module defines ``register(subparsers)``; it must import only the standard
library and light sagepipe modules at top level (heavy imports go inside the handlers), so
``sagepipe --help`` stays fast and never imports torch, boto3, numpy or the server stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sagepipe.dependencies import missing_dependency
from sagepipe.errors import ProblemsError, SagepipeError

# One entry per command module, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "sagepipe.cli.demo_commands",
    "sagepipe.cli.pipeline_commands",
    "sagepipe.cli.config_commands",
    "sagepipe.cli.run_commands",
    "sagepipe.cli.execution_document_commands",
    "sagepipe.cli.executions_commands",
    "sagepipe.cli.train_commands",
    "sagepipe.cli.s3_commands",
    "sagepipe.cli.compile_commands",
    "sagepipe.cli.package_commands",
    "sagepipe.cli.registry_commands",
    "sagepipe.cli.serve_commands",
    "sagepipe.cli.endpoints_commands",
)


class _VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from sagepipe.version import package_version

        print(f"sagepipe {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagepipe",
        description="Declare PyTorch pipelines once; run them locally with the SageMaker "
        "container contract, or compile them for SageMaker Pipelines.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a user mistake)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
        return status
    except SagepipeError as exc:
        if args.debug:
            raise
        return _report(exc)
    except ModuleNotFoundError as exc:
        # torch (the user's build), boto3 (the aws extra), ...: one line saying what to
        # install. Any other missing module is a bug or the user's own code: a traceback.
        missing = missing_dependency(exc)
        if missing is None or args.debug:
            raise
        return _report(missing)
    except KeyboardInterrupt:
        print("sagepipe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _report(exc: SagepipeError) -> int:
    lines = exc.problems if isinstance(exc, ProblemsError) else [str(exc)]
    for line in lines:
        message = " ".join(line.split())
        print(f"sagepipe: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
