"""Reliability figures: the model server, hostile archives and the local engine's faults.

Runs every part for real on this machine (servers on 127.0.0.1 only, bounded load) and prints
one Markdown section per part, as ``docs/reliability.md`` shows them:

- the model server: requests at concurrency 64 and their errors, RSS growth over a soak,
  requests lost to a killed worker and the time until it serves again, and the bad-request
  corpus with the status answered for each kind;
- archive attacks: each kind of hostile or corrupt archive through ``package``, the model
  server's model preparation and safe extraction, with the files written outside the target;
- engine faults: SIGKILL of a step, of the engine, and a file-size limit, with the final states.

    python benchmarks/reliability.py [--quick] [--only server|archives|engine ...]

``--quick`` shortens the soak (about 10 s instead of 60 s) and the load.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("server", "archives", "engine")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short soak and load")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    args = parser.parse_args()
    # The corpora live beside the tests that assert on them (tests/reliability/).
    sys.path.insert(0, str(ROOT))
    print(f"# sagepipe reliability ({platform.machine()}, {platform.python_version()})\n")
    for part in args.only or PARTS:
        module = importlib.import_module(f"benchmarks.reliability_support.{part}")
        started = time.monotonic()
        section: str = module.measure(quick=args.quick)
        print(section.rstrip())
        print(f"\n_{part}: measured in {time.monotonic() - started:.1f} s_\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
