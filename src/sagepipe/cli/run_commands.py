"""``sagepipe run PIPELINE|DEFINITION.json``: run a pipeline or a SageMaker pipeline definition
locally (or resume an execution).

Only the standard library is imported at top level; the engine is imported by the handler.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.local.engine import ExecutionOutcome

PIPELINE_HELP = (
    "a SageMaker pipeline definition (.json: as sagepipe compile or the SageMaker Python SDK's "
    "Pipeline.definition() writes it, or a describe-pipeline response), a config file with a "
    "pipeline: section, or path/to/file.py:attribute"
)
EXIT_FAILED = 1
EXIT_STOPPED = 130


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a pipeline locally, offline",
        description="Run PIPELINE on this machine with the SageMaker container contract: each "
        "step of a SageMaker pipeline definition (a .json file) as its API call would run, in "
        "its own process, independent steps in parallel, outputs in the local object "
        "store (or S3 with --storage s3). Prints the execution id and a summary; exits 1 when "
        "a step fails, 130 when stopped with Ctrl-C, 2 with a one-line error otherwise (e.g. "
        "the run store cannot be written: a full disk; the execution is then marked Failed). "
        "Step processes end with the run, even when it is killed.",
    )
    run.add_argument("pipeline", metavar="PIPELINE", nargs="?", help=PIPELINE_HELP)
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a pipeline parameter (repeatable); a definition's are converted to the "
        "parameter's Type",
    )
    run.add_argument(
        "--max-parallel",
        type=int,
        default=2,
        metavar="N",
        help="how many steps may run at once (default: 2)",
    )
    run.add_argument(
        "--no-cache", action="store_true", help="run every step, even if an identical run exists"
    )
    run.add_argument(
        "--resume",
        metavar="EXECUTION_ID",
        help="rerun only the failed, stopped and not-run steps of that execution (refused "
        "while it runs, or while a step process of it still runs)",
    )
    run.add_argument(
        "--storage",
        choices=("local", "s3"),
        help="where s3:// URIs live: the local object store or S3 (default: "
        "$SAGEPIPE_STORAGE, else local)",
    )
    run.add_argument(
        "--execution-document",
        type=Path,
        metavar="FILE",
        help="per-step settings to apply (write a template with sagepipe execution-document)",
    )
    run.add_argument(
        "--no-requirements",
        action="store_true",
        help="do not install the requirements.txt of training source dirs",
    )
    run.set_defaults(handler=run_run)


def parse_params(items: list[str]) -> dict[str, str]:
    """``["A=1", "B=x"]`` -> ``{"A": "1", "B": "x"}``."""
    from sagepipe.local.errors import EngineError

    values: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise EngineError(f"--param {item!r} must look like NAME=VALUE")
        if name in values:
            raise EngineError(f"--param {name} is given twice")
        values[name] = value
    return values


def run_run(args: argparse.Namespace) -> int:
    from sagepipe.local.engine import RunOptions, resume_execution
    from sagepipe.local.errors import EngineError
    from sagepipe.local.progress import reporter_for

    options = RunOptions(
        max_parallel=args.max_parallel,
        use_cache=not args.no_cache,
        storage=args.storage,
        install_requirements=not args.no_requirements,
    )
    reporter = reporter_for(sys.stdout)
    if args.resume:
        if args.param or args.execution_document:
            raise EngineError(
                "--param and --execution-document cannot be used with --resume: a resumed "
                "execution keeps its parameters and step settings"
            )
        if args.pipeline is not None:
            _check_same_pipeline(args.pipeline, args.resume)
        definition, region = _recompiled(args.resume, options)
        outcome = resume_execution(args.resume, options, reporter, definition, region)
    else:
        if args.pipeline is None:
            raise EngineError("give PIPELINE to run, or --resume EXECUTION_ID")
        definition_file = _definition_file(args.pipeline)
        if definition_file is not None:
            if args.execution_document is not None:
                raise EngineError(
                    "--execution-document applies to sagepipe's own pipelines; a definition "
                    "runs as it is (set its parameters with --param)"
                )
            outcome = _run_definition(definition_file, parse_params(args.param), options, reporter)
            return _finish(outcome)
        from sagepipe.definitions import load_pipeline

        pipeline = load_pipeline(args.pipeline)
        document = None
        if args.execution_document is not None:
            from sagepipe.pipeline.execution_document import read_execution_document

            document = read_execution_document(args.execution_document)
        if document is not None:
            from sagepipe.pipeline.execution_document import apply_execution_document

            pipeline = apply_execution_document(pipeline, document)
        outcome = run_compiled(pipeline, parse_params(args.param), options, reporter)
    return _finish(outcome)


def run_compiled(
    pipeline: Any, params: dict[str, str], options: Any, reporter: Any
) -> ExecutionOutcome:
    """Compile the pipeline as ``compile`` would (local defaults, bundles into the store) and
    run the definition."""
    from sagepipe.cli.local_compile import compile_for_local
    from sagepipe.local.engine import run_definition
    from sagepipe.storage import get_storage, sagepipe_home

    storage = get_storage(options.storage, options.home or sagepipe_home())
    compiled, definition = compile_for_local(pipeline, storage)
    return run_definition(
        definition,
        params,
        options,
        reporter,
        name=pipeline.name,
        root=pipeline.root,
        region=compiled.target.region,
        source_ir=pipeline.to_json(),
    )


def _recompiled(execution_id: str, options: Any) -> tuple[Any, str]:
    """For an execution of a sagepipe pipeline: its recorded pipeline compiled again (code is
    read afresh, so a fixed script is picked up) and its region; ``None`` and the default
    region for a definition run as it is."""
    from sagepipe.cli.local_compile import compile_for_local
    from sagepipe.local.requests import DEFAULT_REGION
    from sagepipe.local.store import RunStore
    from sagepipe.pipeline import Pipeline
    from sagepipe.storage import get_storage, sagepipe_home

    home = options.home or sagepipe_home()
    store = RunStore.open(home)
    try:
        record = store.execution(execution_id)
    finally:
        store.close()
    if record.definition_json is None or not record.ir_json:
        return None, DEFAULT_REGION
    pipeline = Pipeline.from_json(record.ir_json, Path(record.root))
    storage = get_storage("s3" if record.storage == "s3" else "local", home)
    compiled, definition = compile_for_local(pipeline, storage)
    return definition, compiled.target.region


def _finish(outcome: ExecutionOutcome) -> int:
    print_summary(outcome)
    if outcome.status == "Succeeded":
        return 0
    return EXIT_STOPPED if outcome.status == "Stopped" else EXIT_FAILED


def _definition_file(spec: str) -> Path | None:
    """The path of ``spec`` when it names a SageMaker pipeline definition: a ``.json`` file
    without the ``pipeline`` section of a sagepipe config file."""
    import json

    path = Path(spec)
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return path  # read_definition says what is wrong with it, in one line
    return None if isinstance(value, dict) and "pipeline" in value else path


def _run_definition(
    path: Path, params: dict[str, str], options: Any, reporter: Any
) -> ExecutionOutcome:

    from sagepipe.local.definition.reading import read_definition
    from sagepipe.local.engine import run_definition

    definition = read_definition(path)
    return run_definition(
        definition, params, options, reporter, name=_definition_name(path), root=path.parent
    )


def _definition_name(path: Path) -> str:
    """A describe-pipeline response's ``PipelineName``, else the file's stem."""
    import json

    raw = json.loads(path.read_text(encoding="utf-8"))
    name = raw.get("PipelineName") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else path.stem


def _check_same_pipeline(spec: str, execution_id: str) -> None:
    from sagepipe.definitions import load_pipeline
    from sagepipe.local.errors import EngineError
    from sagepipe.local.store import RunStore
    from sagepipe.storage import sagepipe_home

    store = RunStore.open(sagepipe_home())
    try:
        recorded = store.execution(execution_id).pipeline_name
    finally:
        store.close()
    definition_file = _definition_file(spec)
    name = (
        _definition_name(definition_file)
        if definition_file is not None
        else load_pipeline(spec).name
    )
    if name != recorded:
        raise EngineError(
            f"execution {execution_id} ran pipeline {recorded!r}, not {name!r}; "
            "resume it without PIPELINE or with the same one"
        )


def print_summary(outcome: ExecutionOutcome) -> None:
    """The final summary: a line per step, then the execution's status."""
    print()
    for step in outcome.steps:
        elapsed = f"{step.elapsed:.1f}s" if step.elapsed is not None else "-"
        note = f"cached from {step.cache_source}" if step.cache_hit else ""
        print(f"  {step.name:<24} {step.status:<10} {elapsed:>8}  {note}".rstrip())
        if step.status in ("Failed", "Stopped") and step.failure_reason:
            for line in step.failure_reason.splitlines():
                print(f"      {line}")
            if step.log_path:
                print(f"      log: {step.log_path}")
        for warning in step.warnings:
            print(f"      warning: {warning}")
    line = f"execution {outcome.execution_id}: {outcome.status}"
    if outcome.failure_reason and outcome.status != "Succeeded":
        line += f" ({outcome.failure_reason.splitlines()[0]})"
    print(line, flush=True)
    if outcome.status != "Succeeded":
        print(f"resume with: sagepipe run --resume {outcome.execution_id}", flush=True)
