"""Engine overhead: a chain of 10 trivial processing steps run by the local engine.

Prints the total wall time, the sum of the steps' own process times (their scripts), the
engine's overhead per step, and its ratio to the 0.5 s target. As a reference measured in the
same run, it also times the same script run directly, 10 times.

    python benchmarks/engine_overhead.py [--steps 10] [--max-parallel 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TARGET_SECONDS_PER_STEP = 0.5
SCRIPT = """
    import pathlib
    inputs = pathlib.Path("/opt/ml/processing/input/data")
    count = sum(1 for _ in inputs.rglob("*")) if inputs.exists() else 0
    pathlib.Path("/opt/ml/processing/output/data/part.txt").write_text(str(count + 1))
"""


def build(code: Path, steps: int):  # type: ignore[no-untyped-def]
    from sagepipe.config import ProcessingConfig, ProcessingInput, ProcessingOutput
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    built = []
    for index in range(steps):
        previous = built[-1] if built else None
        config = ProcessingConfig(
            processing_entry_point="step.py",
            source_dir=str(code),
            inputs=[ProcessingInput(name="data")] if previous else [],
            outputs=[ProcessingOutput(name="data")],
        )
        built.append(
            ProcessingStepBuilder(config).create_step(
                [previous] if previous else [], name=f"step-{index:02d}"
            )
        )
    return Pipeline("engine-overhead", built, root=code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-parallel", type=int, default=2)
    args = parser.parse_args()

    from sagepipe.local.engine import RunOptions, run_pipeline
    from sagepipe.local.sandbox import detect_mode

    with tempfile.TemporaryDirectory(prefix="sagepipe-bench-") as scratch:
        root = Path(scratch)
        code = root / "code"
        code.mkdir()
        (code / "step.py").write_text(textwrap.dedent(SCRIPT))
        pipeline = build(code, args.steps)
        options = RunOptions(home=root / "home", use_cache=False, max_parallel=args.max_parallel)

        started = time.perf_counter()
        outcome = run_pipeline(pipeline, {}, options)
        wall = time.perf_counter() - started
        if outcome.status != "Succeeded":
            print(f"the run failed: {outcome.failure_reason}", file=sys.stderr)
            return 1
        own = sum(step.process_seconds or 0.0 for step in outcome.steps)
        lifetimes = sum(step.elapsed or 0.0 for step in outcome.steps)

        reference_started = time.perf_counter()
        for _ in range(args.steps):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        reference = time.perf_counter() - reference_started

    overhead = (wall - own) / args.steps
    print(f"steps:                          {args.steps} (a chain; /opt/ml mode {detect_mode()})")
    print(f"total wall time:                {wall:.3f} s")
    print(f"sum of the steps' own times:    {own:.3f} s (their scripts)")
    print(f"sum of step process lifetimes:  {lifetimes:.3f} s")
    print(f"reference, bare python x{args.steps}:     {reference:.3f} s")
    print(f"overhead per step:              {overhead:.3f} s")
    ratio = overhead / TARGET_SECONDS_PER_STEP
    verdict = "within" if overhead <= TARGET_SECONDS_PER_STEP else "OVER"
    print(f"overhead / target ({TARGET_SECONDS_PER_STEP} s):     {ratio:.2f} ({verdict} target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
