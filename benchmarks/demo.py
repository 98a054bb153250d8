"""Wall time of the example pipeline on this machine (set-up excluded), against the 60 s target.

    .venv/bin/python benchmarks/demo.py [--runs N]

Each run uses a fresh SAGEPIPE_HOME (nothing cached) and runs `sagepipe run` on
examples/tabular/pipeline.yaml as a real subprocess; then one more run in the same home shows
the fully cached rerun. Prints the times and their ratio to the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "examples" / "tabular" / "pipeline.yaml"
TARGET_S = 60.0


def timed_run(home: Path) -> float:
    env = {**os.environ, "SAGEPIPE_HOME": str(home)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sagepipe", "run", str(PIPELINE)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"the pipeline failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh runs to time (default 3)")
    args = parser.parse_args()
    fresh: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(args.runs):
            home = Path(scratch) / f"home-{index}"
            fresh.append(timed_run(home))
            print(f"fresh run {index + 1}: {fresh[-1]:.1f} s")
        cached = timed_run(Path(scratch) / "home-0")
    median = statistics.median(fresh)
    print(f"cached rerun:     {cached:.1f} s")
    print(
        f"median fresh run: {median:.1f} s; target {TARGET_S:.0f} s; "
        f"ratio {median / TARGET_S:.2f} of the target ({TARGET_S / median:.1f}x headroom)"
    )


if __name__ == "__main__":
    main()
