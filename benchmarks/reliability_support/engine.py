"""The local engine under faults, measured for real: each fault is applied to a real
``sagepipe run`` of a three-step pipeline (``prep`` -> ``work`` -> ``last``), then the
execution is read back with ``sagepipe executions show`` and resumed.

    python benchmarks/reliability_support/engine.py [--quick]

prints a Markdown section (``### Local engine faults``): per fault, the execution's final
status, its steps' statuses, the reason ``executions show`` gives, how many of the step's
processes (step process, script, the script's child) were still alive 10 s later, and how
``--resume`` ended. The full disk needs ``mount -t tmpfs`` (root); where it is not allowed
its row says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PIPELINE = """
    import os
    from pathlib import Path
    from sagepipe.config import ProcessingConfig, ProcessingOutput, PyTorchTrainingConfig
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import ProcessingStepBuilder, PyTorchTrainingStepBuilder

    HERE = Path(__file__).parent
    ENV = {"MARKERS": str(HERE / "markers")}


    def processing(name, depends_on=()):
        config = ProcessingConfig(
            processing_entry_point=f"{name}.py", source_dir=str(HERE / "code"),
            outputs=[ProcessingOutput(name="out")], env=ENV,
            framework_version="2.1.0", py_version="py310",
        )
        return ProcessingStepBuilder(config).create_step(list(depends_on), name=name)


    def training(name, depends_on=()):
        config = PyTorchTrainingConfig(
            source_dir=str(HERE / "code"), training_entry_point=f"{name}.py",
            framework_version="2.1.0", py_version="py310",
            training_instance_type="ml.m5.xlarge", env=ENV,
        )
        return PyTorchTrainingStepBuilder(config).create_step(
            list(depends_on), name=name, inputs={"input_path": str(HERE / "data")}
        )


    def pipeline():
        prep = processing("prep")
        make = training if os.environ.get("WORK_KIND") == "training" else processing
        work = make("work", [prep])
        return Pipeline("faults", [prep, work, processing("last", [work])])
"""
PREP = 'import pathlib\npathlib.Path("/opt/ml/processing/output/out/prep.txt").write_text("p")\n'
LAST = 'import pathlib\npathlib.Path("/opt/ml/processing/output/out/last.txt").write_text("l")\n'
WAIT = """
    import os, pathlib, subprocess, sys, time
    markers = pathlib.Path(os.environ["MARKERS"])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (markers / "work.pids").write_text(f"{os.getpid()} {child.pid}")
    deadline = time.monotonic() + 120
    while not (markers / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.kill()
    pathlib.Path("/opt/ml/processing/output/out/work.txt").write_text("w")
"""
BIG_MODEL = """
    import os, pathlib
    with (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "model.bin").open("wb") as handle:
        for _ in range(64):
            handle.write(b"w" * 65536)
"""
SMALL_MODEL = """
    import os, pathlib
    (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "model.bin").write_bytes(b"w" * 1024)
"""
FILE_SIZE_LIMIT = 1024 * 1024
ORPHAN_WAIT_SECONDS = 10.0


class Run:
    """One pipeline project and home; the pids its work step recorded."""

    def __init__(self, root: Path, home: Path, kind: str = "processing") -> None:
        self.root, self.home, self.kind = root, home, kind
        for directory in ("code", "markers", "data"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        (root / "data" / "x.csv").write_text("1\n")
        (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
        work = BIG_MODEL if kind == "training" else WAIT
        for name, text in (("prep", PREP), ("work", work), ("last", LAST)):
            (root / "code" / f"{name}.py").write_text(textwrap.dedent(text))
        self.pids: list[int] = []
        #: Removes the fault before the resume (frees the full disk).
        self.heal: Callable[[], None] = lambda: None

    def env(self) -> dict[str, str]:
        return dict(
            os.environ, SAGEPIPE_HOME=str(self.home), SAGEPIPE_STORAGE="local", WORK_KIND=self.kind
        )

    def start(self, *args: str, limit: int | None = None) -> subprocess.Popen[str]:
        def set_limit() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.Popen(
            [sys.executable, "-m", "sagepipe", "run", *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=set_limit,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagepipe", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def wait_for_work(self, process: subprocess.Popen[str]) -> None:
        """Until the work step's script runs; records its pids and its step process's."""
        path = self.root / "markers" / "work.pids"
        deadline = time.monotonic() + 60
        while not (path.is_file() and len(path.read_text().split()) == 2):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the work step never started: {process.communicate()}")
            time.sleep(0.05)
        self.pids = [self.step_pid(), *(int(pid) for pid in path.read_text().split())]

    def execution_id(self) -> str:
        listed = self.cli("executions", "list").stdout.splitlines()
        return listed[1].split()[0]

    def step_pid(self) -> int:
        from sagepipe.local.store import RunStore

        store = RunStore.open(self.home)
        try:
            execution_id = store.executions()[0].execution_id
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pid = store.step(execution_id, "work").pid
                if pid is not None:
                    return pid
                time.sleep(0.05)
        finally:
            store.close()
        raise RuntimeError("the work step recorded no pid")

    def release(self) -> None:
        (self.root / "markers" / "release").write_text("go")

    def orphans(self) -> int:
        """How many of the work step's processes still live after a grace period."""
        deadline = time.monotonic() + ORPHAN_WAIT_SECONDS
        while True:
            alive = [pid for pid in self.pids if _alive(pid)]
            if not alive or time.monotonic() > deadline:
                return len(alive)
            time.sleep(0.1)

    def resume(self) -> str:
        self.heal()
        self.release()
        if self.kind == "training":
            (self.root / "code" / "work.py").write_text(textwrap.dedent(SMALL_MODEL))
        started = time.monotonic()
        process = self.start("--resume", self.execution_id())
        out, err = process.communicate(timeout=120)
        seconds = time.monotonic() - started
        if process.returncode != 0:
            return f"exit {process.returncode}: {(err or out).strip().splitlines()[-1]}"
        status = self.show()["status"]
        return f"{status} ({seconds:.1f} s)"

    def show(self) -> dict[str, Any]:
        shown = self.cli("executions", "show", self.execution_id(), "--json")
        return json.loads(shown.stdout)  # type: ignore[no-any-return]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _row(fault: str, run: Run, orphans: int, scratch: Path) -> list[str]:
    shown = run.show()
    steps = ", ".join(f"{s['name']} {s['status']}" for s in shown["steps"])
    reason = (shown["failure_reason"] or "-").splitlines()[0].replace(str(scratch), "…")
    return [fault, shown["status"], steps, reason, str(orphans), run.resume()]


def kill_step(scratch: Path) -> list[str]:
    run = Run(scratch / "project", scratch / "home")
    process = run.start("pipeline.py:pipeline")
    run.wait_for_work(process)
    os.kill(run.pids[0], signal.SIGKILL)
    process.communicate(timeout=60)
    return _row("SIGKILL of a step process", run, run.orphans(), scratch)


def kill_engine(scratch: Path) -> list[str]:
    run = Run(scratch / "project", scratch / "home")
    process = run.start("pipeline.py:pipeline")
    run.wait_for_work(process)
    process.kill()
    process.communicate(timeout=60)
    return _row("SIGKILL of the engine", run, run.orphans(), scratch)


def step_over_file_size_limit(scratch: Path) -> list[str]:
    run = Run(scratch / "project", scratch / "home", kind="training")
    process = run.start("pipeline.py:pipeline", "--no-requirements", limit=FILE_SIZE_LIMIT)
    process.communicate(timeout=120)
    row = _row("a step over RLIMIT_FSIZE (1 MiB)", run, 0, scratch)
    row[4] = "- (ends by itself)"
    return row


def _store_fault(
    scratch: Path,
    home: Path,
    fault: Callable[[Run, int], None],
    name: str,
    heal: Callable[[], None] = lambda: None,
) -> list[str]:
    run = Run(scratch / "project", home)
    run.heal = heal
    process = run.start("pipeline.py:pipeline")
    run.wait_for_work(process)
    fault(run, process.pid)
    run.release()
    _, err = process.communicate(timeout=120)
    row = _row(name, run, run.orphans(), scratch)
    row[3] += f" (exit {process.returncode}: {len(err.splitlines())} line)"
    return row


def store_over_file_size_limit(scratch: Path) -> list[str]:
    def limit(run: Run, pid: int) -> None:
        database = run.home / "runs.db"
        size = max(Path(f"{database}{s}").stat().st_size for s in ("", "-wal"))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, size))

    return _store_fault(scratch, scratch / "home", limit, "the run store over RLIMIT_FSIZE")


def disk_full(scratch: Path) -> list[str]:
    disk = scratch / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        why = f"not measured: mount -t tmpfs not allowed ({mounted.stderr.strip()})"
        return ["disk full (16 MiB tmpfs)", why, "-", "-", "-", "-"]
    filler = disk / "filler"

    def fill(run: Run, pid: int) -> None:
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:  # until ENOSPC
                handle.write(b"\0" * 65536)
                handle.flush()

    try:
        return _store_fault(
            scratch,
            disk / "home",
            fill,
            "disk full (16 MiB tmpfs)",
            heal=lambda: filler.unlink(missing_ok=True),
        )
    finally:
        filler.unlink(missing_ok=True)
        subprocess.run(["umount", "-l", str(disk)], check=False)


def measure(*, quick: bool = False) -> str:
    """Apply each fault to a real run and return the Markdown section with the table.

    Args:
        quick: Only the SIGKILLs and the run store over its file-size limit.
    """
    faults = [kill_step, kill_engine, store_over_file_size_limit]
    if not quick:
        faults += [step_over_file_size_limit, disk_full]
    rows = []
    for fault in faults:
        with tempfile.TemporaryDirectory(prefix="sagepipe-faults-") as scratch:
            rows.append(fault(Path(scratch)))
    header = [
        "fault",
        "final execution status",
        "step statuses",
        "reason shown",
        "orphans left",
        "resume",
    ]
    lines = [
        "### Local engine faults",
        "",
        "Each fault applied to a real `sagepipe run` of `prep -> work -> last` while `work` "
        "runs (a script with a child process); the execution as `sagepipe executions show` "
        f"reports it afterwards; orphans: the work step's processes alive "
        f"{ORPHAN_WAIT_SECONDS:.0f} s later; resume: `sagepipe run --resume` with the fault "
        "removed. Reproduce: `python benchmarks/reliability_support/engine.py`.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the SIGKILLs and the store")
    args = parser.parse_args()
    print(measure(quick=args.quick))


if __name__ == "__main__":
    main()
