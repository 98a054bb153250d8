"""Archive attacks: every hostile archive of the corpus, run for real through sagepipe.

Each kind of ``tests/reliability/archive_attacks.py`` is built in a temporary directory and
run through ``package`` (splicing tried first), ``serve``'s model preparation and safe
extraction, with the target inside a sentinel tree; the table says what each reader did and
which files appeared outside the target (there must be none). Archives accepted by design are
packaged and the output extracted again with plain ``tarfile`` (no filter): its files outside
count too.

    python -m benchmarks.reliability_support.archives
    python benchmarks/reliability_support/archives.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # run as a script: the corpus lives under tests/
    sys.path.insert(0, str(_ROOT))

from tests.reliability.archive_attacks import ATTACKS, AttackResult, run_attack  # noqa: E402

_QUICK_SKIPPED = ("2,000 members",)


def _row(result: AttackResult) -> str:
    outside = result.outside()
    cells = [
        result.attack.kind + (" (accepted by design)" if result.attack.accepted else ""),
        result.package.cell(),
        result.serve.cell(),
        result.extract.cell(),
        ", ".join(outside) if outside else "0",
    ]
    return "| " + " | ".join(cells) + " |"


def measure(*, quick: bool = False) -> str:
    """Run the corpus and return a Markdown section with its table.

    Args:
        quick: Skip the slowest kinds (many members).
    """
    started = time.perf_counter()
    attacks = [a for a in ATTACKS if not (quick and a.kind in _QUICK_SKIPPED)]
    rows = []
    outside_total = 0
    refused_as_expected = 0
    with tempfile.TemporaryDirectory(prefix="sagepipe-archive-attacks-") as scratch:
        for index, attack in enumerate(attacks):
            result = run_attack(attack, Path(scratch) / f"{index:02d}")
            rows.append(_row(result))
            outside_total += len(result.outside())
            readers = (result.package, result.serve, result.extract)
            if all(o.refused != attack.accepted for o in readers):
                refused_as_expected += 1
    seconds = time.perf_counter() - started
    lines = [
        "### Archive attacks",
        "",
        f"{len(attacks)} kinds of hostile archive, each through `package`, `serve`'s model "
        "preparation and safe extraction, the target inside a sentinel tree; "
        f"{refused_as_expected} of {len(attacks)} handled as designed (refused, or accepted "
        f"safely), {outside_total} files written outside the target ({seconds:.1f} s).",
        "",
        "| kind | package | serve | extract | files written outside |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Reproduce: `python -m benchmarks.reliability_support.archives`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    print(measure(quick="--quick" in sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
