"""Engine overhead: a chain of 10 trivial processing steps run by the local engine.

The pipeline is compiled to its SageMaker definition (as ``sagepipe run`` does; the compile
time is printed on its own) and the definition is executed. Prints the total wall time, the
sum of the steps' own process times (their scripts), the engine's overhead per step, and its
ratio to the 0.15 s target. As a reference measured in the same run, it also times a bare
python process started 10 times.

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

TARGET_SECONDS_PER_STEP = 0.15
SCRIPT = """
    import os, pathlib
    opt_ml = pathlib.Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))  # set in rewrite mode
    inputs = opt_ml / "processing/input/data"
    count = sum(1 for _ in inputs.rglob("*")) if inputs.exists() else 0
    (opt_ml / "processing/output/result/part.txt").write_text(str(count + 1))
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
            framework_version="2.1.0",
            py_version="py310",
            inputs=[ProcessingInput(name="data")] if previous else [],
            outputs=[ProcessingOutput(name="result")],
        )
        built.append(
            ProcessingStepBuilder(config).create_step(
                [previous] if previous else [],
                name=f"step-{index:02d}",
                inputs={"data": previous.output_ref("result")} if previous else None,
            )
        )
    return Pipeline("engine-overhead", built, root=code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--max-parallel", type=int, default=2)
    args = parser.parse_args()

    from sagepipe.cli.local_compile import compile_for_local
    from sagepipe.local.engine import RunOptions, run_definition
    from sagepipe.local.sandbox import detect_mode
    from sagepipe.storage import get_storage

    with tempfile.TemporaryDirectory(prefix="sagepipe-bench-") as scratch:
        root = Path(scratch)
        code = root / "code"
        code.mkdir()
        (code / "step.py").write_text(textwrap.dedent(SCRIPT))
        pipeline = build(code, args.steps)
        options = RunOptions(home=root / "home", use_cache=False, max_parallel=args.max_parallel)

        compile_started = time.perf_counter()
        _, definition = compile_for_local(pipeline, get_storage("local", root / "home"))
        compile_seconds = time.perf_counter() - compile_started
        started = time.perf_counter()
        outcome = run_definition(definition, {}, options, name=pipeline.name, root=code)
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
    print(f"compile + bundle upload:        {compile_seconds:.3f} s (not in the times below)")
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
