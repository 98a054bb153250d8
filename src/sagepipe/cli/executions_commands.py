"""``sagepipe executions list | show ID | logs ID STEP | metrics ID``: the run store.

Only the standard library is imported at top level; the store is imported by the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.local.store import RunStore


def register(subparsers: Any) -> None:
    executions = subparsers.add_parser(
        "executions",
        help="list and inspect local executions",
        description="Inspect the executions of sagepipe run kept in $SAGEPIPE_HOME/runs.db. "
        "An execution whose sagepipe run process has ended without finishing it (killed, "
        "out of memory) is marked Failed, with that reason, by the first list or show that "
        "sees it.",
    )
    commands = executions.add_subparsers(dest="executions_command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="list executions, most recent first")
    listing.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="show an execution and its steps")
    show.add_argument("execution_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    show.set_defaults(handler=run_show)

    logs = commands.add_parser("logs", help="print a step's log")
    logs.add_argument("execution_id", metavar="ID")
    logs.add_argument("step", metavar="STEP")
    logs.set_defaults(handler=run_logs)

    metrics = commands.add_parser("metrics", help="show the metrics an execution captured")
    metrics.add_argument("execution_id", metavar="ID")
    metrics.add_argument("--step", metavar="STEP", help="only this step's metrics")
    metrics.add_argument(
        "--points", action="store_true", help="print every point, not a summary per metric"
    )
    metrics.add_argument("--json", action="store_true", help="print every point as JSON")
    metrics.set_defaults(handler=run_metrics)


def _open() -> RunStore:
    from sagepipe.local.store import RunStore
    from sagepipe.storage import sagepipe_home

    return RunStore.open(sagepipe_home())


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else "-"


def _duration(start: float | None, end: float | None) -> str:
    return f"{end - start:.1f}s" if start is not None and end is not None else "-"


def run_list(args: argparse.Namespace) -> int:
    from sagepipe.local.liveness import reconcile

    store = _open()
    try:
        rows = []
        for found in store.executions(limit=args.limit):
            execution = reconcile(store, found)
            steps = store.steps(execution.execution_id)
            done = sum(s.status in ("Succeeded", "Cached") for s in steps)
            rows.append(
                [
                    execution.execution_id,
                    execution.pipeline_name,
                    execution.status,
                    _when(execution.start_time),
                    _duration(execution.start_time, execution.end_time),
                    f"{done}/{len(steps)}",
                ]
            )
    finally:
        store.close()
    if not rows:
        print("no executions yet (run one with: sagepipe run PIPELINE)")
        return 0
    print(format_table(["ID", "PIPELINE", "STATUS", "STARTED", "DURATION", "DONE"], rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from sagepipe.local.liveness import reconcile

    store = _open()
    try:
        execution = reconcile(store, store.execution(args.execution_id))
        steps = store.steps(args.execution_id)
    finally:
        store.close()
    if args.json:
        data = {
            "execution_id": execution.execution_id,
            "pipeline_name": execution.pipeline_name,
            "status": execution.status,
            "parameters": execution.parameters,
            "storage": execution.storage,
            "start_time": execution.start_time,
            "end_time": execution.end_time,
            "failure_reason": execution.failure_reason,
            "steps": [
                {
                    "name": s.name,
                    "step_type": s.step_type,
                    "status": s.status,
                    "start_time": s.start_time,
                    "end_time": s.end_time,
                    "properties": s.properties,
                    "failure_reason": s.failure_reason,
                    "cache_hit": s.cache_hit,
                    "cache_source": s.cache_source,
                    "cache_key": s.cache_key,
                    "log_path": s.log_path,
                    "work_dir": s.work_dir,
                    "warnings": s.warnings,
                }
                for s in steps
            ],
        }
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    print(f"execution  {execution.execution_id}")
    print(f"pipeline   {execution.pipeline_name}")
    print(f"status     {execution.status}")
    print(f"started    {_when(execution.start_time)}")
    print(f"duration   {_duration(execution.start_time, execution.end_time)}")
    print(f"storage    {execution.storage}")
    for name, value in sorted(execution.parameters.items()):
        print(f"parameter  {name} = {value!r}")
    if execution.failure_reason:
        print(f"reason     {execution.failure_reason.splitlines()[0]}")
    print()
    rows = [
        [
            s.name,
            s.step_type,
            s.status,
            _duration(s.start_time, s.end_time),
            f"from {s.cache_source}" if s.cache_hit else "",
        ]
        for s in steps
    ]
    print(format_table(["STEP", "TYPE", "STATUS", "DURATION", "CACHE"], rows))
    for step in steps:
        if step.failure_reason and step.status != "NotRun":
            print(f"\n{step.name}: {step.failure_reason}")
        for warning in step.warnings:
            print(f"\n{step.name}: warning: {warning}")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sagepipe.local.errors import EngineError

    store = _open()
    try:
        step = store.step(args.execution_id, args.step)
    finally:
        store.close()
    if step.log_path is None:
        raise EngineError(
            f"step {args.step!r} of execution {args.execution_id} has not run ({step.status}), "
            "so it has no log"
        )
    path = Path(step.log_path)
    if not path.is_file():
        raise EngineError(f"the log of step {args.step!r} ({path}) no longer exists")
    if step.cache_hit:
        print(f"(cached: this is the log of the run in execution {step.cache_source})")
    sys.stdout.write(path.read_text(errors="replace"))
    sys.stdout.flush()
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    store = _open()
    try:
        store.execution(args.execution_id)
        if args.step is not None:
            store.step(args.execution_id, args.step)
        points = store.metrics(args.execution_id, args.step)
    finally:
        store.close()
    if args.json:
        print(json.dumps([p.__dict__ for p in points], indent=2))
        return 0
    if not points:
        print(f"no metrics captured in execution {args.execution_id}")
        return 0
    if args.points:
        rows = [
            [p.step_name, p.name, str(p.index), f"{p.value:g}", _when(p.timestamp)] for p in points
        ]
        print(format_table(["STEP", "METRIC", "INDEX", "VALUE", "TIME"], rows))
        return 0
    series: dict[tuple[str, str], list[float]] = {}
    for point in points:
        series.setdefault((point.step_name, point.name), []).append(point.value)
    rows = [
        [step, name, str(len(values)), f"{values[-1]:g}", f"{min(values):g}", f"{max(values):g}"]
        for (step, name), values in series.items()
    ]
    print(format_table(["STEP", "METRIC", "POINTS", "LAST", "MIN", "MAX"], rows))
    return 0
