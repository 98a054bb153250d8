"""``sagepipe demo``: the whole loop on the shipped example, with a short summary.

Runs the example pipeline locally, serves the registered model package, sends it one real
request and prints what happened: every number comes from the run store, the registry, the
evaluation report the pipeline wrote, or the live request. Only the standard library is
imported at top level.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.local.engine import ExecutionOutcome
    from sagepipe.storage import Storage


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the example pipeline locally, serve the registered model, invoke it",
        description="Run the tabular example end to end on this machine (preprocess, train, "
        "model, package, payload, register, batch transform, evaluate), then serve the "
        "registered model package and send it one request.",
    )
    demo.add_argument(
        "pipeline",
        nargs="?",
        metavar="PIPELINE",
        help="the pipeline to run (default: the tabular example shipped inside sagepipe, "
        "examples/tabular/pipeline.yaml in the repository); everything it writes goes under "
        "$SAGEPIPE_HOME (default ./.sagepipe)",
    )
    demo.add_argument("--no-cache", action="store_true", help="rerun every step")
    demo.add_argument("--max-parallel", type=int, default=2, metavar="N")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from sagepipe.cli.run_commands import print_summary, run_compiled
    from sagepipe.definitions import load_pipeline
    from sagepipe.definitions.examples_dir import example_pipeline
    from sagepipe.dependencies import require
    from sagepipe.local.engine import RunOptions
    from sagepipe.local.progress import reporter_for

    # The example trains and serves a PyTorch model in child processes: say what to install
    # before the first step, rather than a training step failing on `import torch`.
    require("torch")
    pipeline_file = args.pipeline or str(example_pipeline())
    pipeline = load_pipeline(pipeline_file)
    started = time.monotonic()
    outcome = run_compiled(
        pipeline,
        {},
        RunOptions(max_parallel=args.max_parallel, use_cache=not args.no_cache),
        reporter_for(sys.stdout),
    )
    wall = time.monotonic() - started
    if outcome.status != "Succeeded":
        print_summary(outcome)
        return 1
    print_report(outcome, wall, pipeline_file)
    return 0


def print_report(outcome: ExecutionOutcome, wall_seconds: float, pipeline_file: str) -> None:
    """The demo's summary, read back from the run store, the registry and the outputs."""
    from sagepipe.local.store import RunStore
    from sagepipe.storage import get_storage, sagepipe_home

    home = sagepipe_home()
    store = RunStore.open(home)
    try:
        steps = store.steps(outcome.execution_id)
        metrics = store.metrics(outcome.execution_id)
    finally:
        store.close()
    storage = get_storage()
    print(f"\nexecution {outcome.execution_id}: Succeeded in {wall_seconds:.1f}s\n")
    for step in steps:
        elapsed = (
            f"{step.end_time - step.start_time:.1f}s"
            if step.start_time is not None and step.end_time is not None
            else "-"
        )
        cached = "  (cached)" if step.cache_hit else ""
        print(f"  {step.name:<16} {step.status:<10} {elapsed:>7}{cached}")
    last: dict[str, float] = {}
    for point in sorted(metrics, key=lambda p: p.index):
        last[f"{point.step_name}: {point.name}"] = point.value
    if last:
        print("\nmetrics (last value):")
        for name, value in sorted(last.items()):
            print(f"  {name:<36} {value:.4f}")
    evaluation = _evaluation(steps, storage)
    if evaluation is not None:
        print(
            f"\ntest set: F1 {evaluation['f1']:.4f}, AUC {evaluation['auc']:.4f} "
            f"({evaluation['records']} records)"
        )
    arn = next(
        (
            str(s.properties["ModelPackageArn"])
            for s in steps
            if s.step_type == "RegisterModel" and s.properties
        ),
        None,
    )
    if arn is None:
        return
    print(f"\nmodel package: {arn}")
    record = _first_test_record(steps, storage)
    if record is not None:
        _invoke_served(arn, record, home)
    print(
        "\nlook further:\n"
        f"  sagepipe executions show {outcome.execution_id}\n"
        f"  sagepipe executions metrics {outcome.execution_id}\n"
        f"  sagepipe serve {arn}\n"
        f"  sagepipe compile {shlex.quote(pipeline_file)} -o definition.json "
        "--bucket my-bucket --role arn:aws:iam::123456789012:role/SageMakerRole"
    )


def _output(step_properties: dict[str, Any] | None, name: str) -> str | None:
    outputs = ((step_properties or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []
    output: dict[str, Any] = next((o for o in outputs if o.get("OutputName") == name), {})
    uri = (output.get("S3Output") or {}).get("S3Uri")
    return str(uri) if uri else None


def _evaluation(steps: list[Any], storage: Storage) -> dict[str, Any] | None:
    for step in steps:
        prefix = _output(step.properties, "evaluation")
        if prefix is None:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "evaluation.json"
            storage.get_file(f"{prefix.rstrip('/')}/evaluation.json", target)
            report: dict[str, Any] = json.loads(target.read_text())
            return report
    return None


def _first_test_record(steps: list[Any], storage: Storage) -> str | None:
    """One record of the test split as the model's CSV input (what batch transform sent)."""
    for step in steps:
        prefix = _output(step.properties, "test_features")
        if prefix is None:
            continue
        objects = [o for o in storage.list(prefix) if not o.is_prefix]
        if not objects:
            return None
        with storage.open_read(objects[0].uri) as stream:
            line = stream.readline().decode("utf-8").strip()
        return line or None
    return None


def _invoke_served(arn: str, record: str, home: Path) -> None:
    import urllib.request

    from sagepipe.local.calls.smoke import local_server

    log = home / "demo" / "serve.log"
    print(f"\nserving {arn} ...")
    launched = time.monotonic()
    with local_server(arn, {}, log) as (url, _process):
        ready = time.monotonic() - launched
        request = urllib.request.Request(
            f"{url}/invocations",
            data=record.encode(),
            headers={"Content-Type": "text/csv", "Accept": "application/json"},
            method="POST",
        )
        sent = time.monotonic()
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = response.read().decode()
        latency_ms = (time.monotonic() - sent) * 1000
    print(f"  server ready in {ready:.1f}s at {url} (log: {log})")
    print(f"  POST /invocations text/csv: {record}")
    print(f"  answer ({latency_ms:.1f} ms): {answer}")
