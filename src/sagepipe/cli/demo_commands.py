"""``sagepipe demo``: the whole loop on a shipped example, with a short summary.

Runs the example pipeline locally, serves the registered model package, sends it one real
request (a record of the tabular test split, else the pipeline's first sample payload) and
prints what happened: every number comes from the run store, the registry, the
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.local.engine import ExecutionOutcome
    from sagepipe.storage import Storage


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run an example pipeline locally, serve the registered model, invoke it",
        description="Run a shipped example end to end on this machine, then serve the "
        "registered model package and send it one request. Examples: tabular (the seed "
        "layout: preprocess a CSV, train, model, package, payload, register, batch "
        "transform, evaluate) and waveforms (a plain script-mode project: strict argparse "
        "hyperparameters, train/validation channels, its own sample payload files).",
    )
    demo.add_argument(
        "pipeline",
        nargs="?",
        metavar="PIPELINE",
        help="the pipeline to run instead of a shipped example; everything it writes goes "
        "under $SAGEPIPE_HOME (default ./.sagepipe)",
    )
    demo.add_argument(
        "--example",
        # sagepipe.definitions.examples_dir.EXAMPLES, spelled out: importing that package at
        # startup would load pydantic for every command (a test keeps the two equal).
        choices=("tabular", "waveforms"),
        default="tabular",
        help="the shipped example to run (default: %(default)s; "
        "examples/<name>/pipeline.yaml in the repository)",
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
    pipeline_file = args.pipeline or str(example_pipeline(args.example))
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
        print(f"  {step.name:<18} {step.status:<10} {elapsed:>7}{cached}")
    last: dict[str, float] = {}
    for point in sorted(metrics, key=lambda p: p.index):
        last[f"{point.step_name}: {point.name}"] = point.value
    if last:
        print("\nmetrics (last value):")
        for name, value in sorted(last.items()):
            print(f"  {name:<36} {value:.4f}")
    evaluation = _evaluation(steps, storage)
    if evaluation is not None:
        print(f"\ntest set: {_evaluation_line(evaluation)}")
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
    request = _first_test_record(steps, storage) or _first_sample(steps, storage)
    if request is not None:
        _invoke_served(arn, request, home)
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


# How the summary names the tabular example's report entries; others keep their key.
_REPORT_NAMES = {"f1": "F1", "auc": "AUC"}


def _evaluation_line(report: dict[str, Any]) -> str:
    """``F1 0.9000, AUC 0.9500 (50 records)``: the report's numbers, in its order."""
    values = [
        f"{_REPORT_NAMES.get(name, name)} {value:.4f}"
        for name, value in report.items()
        if name != "records" and isinstance(value, int | float) and not isinstance(value, bool)
    ]
    records = report.get("records")
    return ", ".join(values) + (f" ({records} records)" if isinstance(records, int) else "")


@dataclass(frozen=True)
class DemoRequest:
    """The one request the demo sends: its content type, body and how to print it."""

    content_type: str
    body: bytes
    shown: str


def _first_test_record(steps: list[Any], storage: Storage) -> DemoRequest | None:
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
        return DemoRequest("text/csv", line.encode(), line) if line else None
    return None


def _first_sample(steps: list[Any], storage: Storage) -> DemoRequest | None:
    """The first sample payload the pipeline made (what the registration's smoke test sent
    first): any model's request, where the pipeline has no tabular test split."""
    from sagepipe.artifacts.payload import PAYLOAD_ARCHIVE, read_payload_files

    for step in steps:
        prefix = _output(step.properties, "payload_sample")
        if prefix is None:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / PAYLOAD_ARCHIVE
            storage.get_file(f"{prefix.rstrip('/')}/{PAYLOAD_ARCHIVE}", archive)
            sample, body = read_payload_files(archive)[0]
        return DemoRequest(sample.content_type, body, _shown(sample.label, body))
    return None


def _shown(label: str, body: bytes, limit: int = 120) -> str:
    """A request body as the summary prints it: text cut to ``limit`` characters, binary
    bodies (NPY) by name and size."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return f"{label} ({len(body)} bytes)"
    return text if len(text) <= limit else f"{text[:limit]}... ({label}, {len(body)} bytes)"


def _invoke_served(arn: str, request: DemoRequest, home: Path) -> None:
    import urllib.request

    from sagepipe.local.calls.smoke import local_server

    log = home / "demo" / "serve.log"
    print(f"\nserving {arn} ...")
    launched = time.monotonic()
    with local_server(arn, {}, log) as (url, _process):
        ready = time.monotonic() - launched
        http_request = urllib.request.Request(
            f"{url}/invocations",
            data=request.body,
            headers={"Content-Type": request.content_type, "Accept": "application/json"},
            method="POST",
        )
        sent = time.monotonic()
        with urllib.request.urlopen(http_request, timeout=60) as response:
            answer = response.read().decode()
        latency_ms = (time.monotonic() - sent) * 1000
    print(f"  server ready in {ready:.1f}s at {url} (log: {log})")
    print(f"  POST /invocations {request.content_type}: {request.shown}")
    print(f"  answer ({latency_ms:.1f} ms): {answer}")
