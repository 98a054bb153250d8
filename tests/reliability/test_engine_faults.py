"""The local engine under faults, through the real ``sagepipe run``: a step process killed, the
engine killed, a file-size limit (on a step, on the run store) and a full disk. Each checks
the final states of the execution and its steps, the reasons, that earlier outputs stay
intact, that no process is left behind, and that ``--resume`` then finishes the execution.

The pipeline: ``prep`` (writes an output) -> ``work`` -> ``last``. ``work`` is a processing
step that records its pids and waits for a release file (or, in ``big`` mode, a training
step that writes a 4 MiB model).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

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
            processing_entry_point=f"{name}.py",
            source_dir=str(HERE / "code"),
            outputs=[ProcessingOutput(name="out")],
            framework_version="2.1.0",
            py_version="py310",
            env=ENV,
        )
        return ProcessingStepBuilder(config).create_step(list(depends_on), name=name)


    def training(name, depends_on=()):
        config = PyTorchTrainingConfig(
            source_dir=str(HERE / "code"),
            training_entry_point=f"{name}.py",
            framework_version="2.1.0",
            py_version="py310",
            training_instance_type="ml.m5.xlarge",
            env=ENV,
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
PREP = """
    import pathlib
    pathlib.Path("/opt/ml/processing/output/out/prep.txt").write_text("prepared")
"""
# Waits for the test: records its pid and its child's, then polls for a release file.
WAIT = """
    import os, pathlib, subprocess, sys, time
    markers = pathlib.Path(os.environ["MARKERS"])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (markers / "work.pids").write_text(f"{os.getpid()} {child.pid}")
    deadline = time.monotonic() + 120
    while not (markers / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.kill()
    pathlib.Path("/opt/ml/processing/output/out/work.txt").write_text("worked")
"""
# A training script whose model is larger than the file-size limit of the test.
BIG_MODEL = """
    import os, pathlib
    model = pathlib.Path(os.environ["SM_MODEL_DIR"]) / "model.bin"
    with model.open("wb") as handle:
        for _ in range(64):
            handle.write(b"w" * 65536)
"""
SMALL_MODEL = """
    import os, pathlib
    (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "model.bin").write_bytes(b"w" * 1024)
"""
LAST = """
    import pathlib
    pathlib.Path("/opt/ml/processing/output/out/last.txt").write_text("last")
"""
FILE_SIZE_LIMIT = 1024 * 1024


class Project:
    """A pipeline project and its sagepipe home, driven through the real CLI."""

    def __init__(self, root: Path, home: Path, work: str = WAIT, kind: str = "processing"):
        self.root, self.home, self.kind = root, home, kind
        for directory in ("code", "markers", "data"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        (root / "data" / "x.csv").write_text("1\n")
        (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
        for name, text in (("prep", PREP), ("work", work), ("last", LAST)):
            (root / "code" / f"{name}.py").write_text(textwrap.dedent(text))

    @property
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
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=set_limit,
        )

    def sagepipe(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagepipe", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def work_pids(self, process: subprocess.Popen[str]) -> tuple[int, int]:
        """The pids of the waiting script and its child, once it runs."""
        path = self.root / "markers" / "work.pids"
        deadline = time.monotonic() + 60
        while not (path.is_file() and len(path.read_text().split()) == 2):
            if process.poll() is not None:
                pytest.fail(f"sagepipe run ended early: {process.communicate()}")
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("the work step never started")
            time.sleep(0.05)
        script, child = (int(pid) for pid in path.read_text().split())
        return script, child

    def release(self) -> None:
        (self.root / "markers" / "release").write_text("go")

    def show(self, execution_id: str) -> dict[str, Any]:
        """``sagepipe executions show --json`` (which also closes an execution whose engine
        is gone)."""
        shown = self.sagepipe("executions", "show", execution_id, "--json")
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)  # type: ignore[no-any-return]

    def only_execution(self) -> str:
        from sagepipe.local.store import RunStore

        store = RunStore.open(self.home)
        try:
            deadline = time.monotonic() + 60
            while not store.executions():
                assert time.monotonic() < deadline, "no execution was recorded"
                time.sleep(0.05)
            [execution] = store.executions()
            return execution.execution_id
        finally:
            store.close()

    def step_pid(self, execution_id: str, step: str) -> int:
        from sagepipe.local.store import RunStore

        store = RunStore.open(self.home)
        try:
            pid = store.step(execution_id, step).pid
        finally:
            store.close()
        assert pid is not None
        return pid

    def prep_output(self, execution_id: str) -> str:
        objects = self.home / "objects" / "sagepipe-local" / "faults"
        path = objects / execution_id / "prep" / "output" / "out"
        return (path / "prep.txt").read_text()

    def resume(self, execution_id: str) -> dict[str, Any]:
        """Resume with the work step fixed; returns the execution as shown after."""
        self.release()
        if self.kind == "training":
            (self.root / "code" / "work.py").write_text(textwrap.dedent(SMALL_MODEL))
        resumed = self.start("--resume", execution_id)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, out + err
        shown = self.show(execution_id)
        assert shown["status"] == "Succeeded"
        assert statuses(shown) == {"prep": "Succeeded", "work": "Succeeded", "last": "Succeeded"}
        return shown


def statuses(shown: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["status"] for step in shown["steps"]}


def reasons(shown: dict[str, Any]) -> dict[str, str | None]:
    return {step["name"]: step["failure_reason"] for step in shown["steps"]}


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether ``pid`` has ended (or is a zombie nobody reaped) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path / "project", tmp_path / "home")
    yield made
    made.release()  # never leave a waiting script behind, whatever failed


@pytest.mark.parametrize("kind", ["processing", "training"])
def test_a_killed_step_process_fails_its_step_and_resume_finishes(
    project: Project, kind: str
) -> None:
    # A training host runs in a session of its own: it must still end with its step.
    project.kind = kind
    process = project.start("pipeline.py:pipeline", "--no-requirements")
    script, child = project.work_pids(process)
    execution_id = project.only_execution()

    os.kill(project.step_pid(execution_id, "work"), signal.SIGKILL)
    out, _ = process.communicate(timeout=60)

    assert process.returncode == 1, out
    shown = project.show(execution_id)
    assert shown["status"] == "Failed"
    assert statuses(shown) == {"prep": "Succeeded", "work": "Failed", "last": "NotRun"}
    assert reasons(shown)["work"] == "step process was killed by signal 9 (SIGKILL)"
    assert gone(script) and gone(child)
    assert project.prep_output(execution_id) == "prepared"
    project.resume(execution_id)
    assert project.prep_output(execution_id) == "prepared"


@pytest.mark.parametrize("kind", ["processing", "training"])
def test_a_killed_engine_takes_its_steps_with_it_and_is_marked_failed(
    project: Project, kind: str
) -> None:
    project.kind = kind
    process = project.start("pipeline.py:pipeline", "--no-requirements")
    script, child = project.work_pids(process)
    execution_id = project.only_execution()
    step_process = project.step_pid(execution_id, "work")

    process.kill()
    process.communicate(timeout=60)

    # The step process, its script and the script's own child die with the engine.
    assert gone(step_process) and gone(script) and gone(child)
    listed = project.sagepipe("executions", "list")
    assert f"{execution_id}  faults    Failed" in listed.stdout, listed.stdout
    shown = project.show(execution_id)
    reason = f"the engine (pid {process.pid}) ended without finishing the execution"
    assert shown["status"] == "Failed"
    assert shown["failure_reason"] == reason
    assert statuses(shown) == {"prep": "Succeeded", "work": "Failed", "last": "NotRun"}
    assert reasons(shown)["work"] == reason
    assert project.prep_output(execution_id) == "prepared"
    project.resume(execution_id)


def test_resume_refuses_while_a_step_process_of_a_dead_engine_lives(project: Project) -> None:
    process = project.start("pipeline.py:pipeline")
    script, child = project.work_pids(process)
    execution_id = project.only_execution()
    step_process = project.step_pid(execution_id, "work")
    # A stopped process cannot act on its parent-death signal: it outlives the engine.
    os.kill(step_process, signal.SIGSTOP)
    try:
        process.kill()
        process.communicate(timeout=60)
        assert not gone(step_process, within=0.5)

        refused = project.sagepipe("run", "--resume", execution_id)

        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.splitlines() == [
            f"sagepipe: error: execution {execution_id} cannot be resumed yet: the process of "
            f"its step 'work' (pid {step_process}) still runs in the step's directory; wait "
            f"for it to end, or end it with: kill -- -{step_process}"
        ]
        assert refused.stdout == ""
    finally:
        os.kill(step_process, signal.SIGCONT)
    assert gone(step_process) and gone(script) and gone(child)
    project.resume(execution_id)


def test_a_step_over_the_file_size_limit_fails_with_its_exception_line(tmp_path: Path) -> None:
    project = Project(tmp_path / "project", tmp_path / "home", work=BIG_MODEL, kind="training")
    process = project.start("pipeline.py:pipeline", "--no-requirements", limit=FILE_SIZE_LIMIT)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, out + err
    execution_id = project.only_execution()
    shown = project.show(execution_id)
    assert shown["status"] == "Failed"
    assert statuses(shown) == {"prep": "Succeeded", "work": "Failed", "last": "NotRun"}
    log = project.home / "executions" / execution_id / "work" / "step.log"
    reason = reasons(shown)["work"]
    assert reason is not None
    first, traceback = reason.split("\n", 1)
    assert first == f"OSError: [Errno 27] File too large (log: {log})"
    assert traceback.startswith("Traceback (most recent call last):")
    assert "step 'work' failed: OSError: [Errno 27] File too large" in out
    assert "Traceback" not in "".join(line for line in out.splitlines() if "work: Failed" in line)
    assert project.prep_output(execution_id) == "prepared"
    project.resume(execution_id)


def _end_with_an_unwritable_store(
    project: Project, fault: Callable[[int], None]
) -> tuple[str, subprocess.Popen[str], str]:
    """Run until the work step waits, apply ``fault(engine_pid)``, release the step; the
    engine's next write to the run store fails. Returns the execution id, the finished
    process and its stderr."""
    process = project.start("pipeline.py:pipeline")
    script, child = project.work_pids(process)
    execution_id = project.only_execution()
    fault(process.pid)
    project.release()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out + err
    assert gone(script) and gone(child)
    return execution_id, process, err


def test_the_run_store_over_the_file_size_limit_ends_the_run_with_one_line(
    project: Project,
) -> None:
    database = project.home / "runs.db"

    def limit_the_engine(pid: int) -> None:
        # From now on the engine cannot grow the database nor its write-ahead log.
        sizes = [Path(f"{database}{suffix}").stat().st_size for suffix in ("", "-wal")]
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (max(sizes), max(sizes)))

    execution_id, _, err = _end_with_an_unwritable_store(project, limit_the_engine)

    cause = f"the run store {database} cannot be written: [Errno 27] File too large"
    assert err.splitlines() == [
        f"sagepipe: error: {cause}; execution {execution_id} is marked Failed (once the "
        f"cause is fixed, resume it with: sagepipe run --resume {execution_id})"
    ]
    shown = project.show(execution_id)
    assert shown["status"] == "Failed"
    assert shown["failure_reason"] == cause
    assert statuses(shown) == {"prep": "Succeeded", "work": "Stopped", "last": "NotRun"}
    assert reasons(shown)["work"] == f"stopped: {cause}"
    assert project.prep_output(execution_id) == "prepared"
    project.resume(execution_id)
    assert project.prep_output(execution_id) == "prepared"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs (mounting needs root or CAP_SYS_ADMIN; CI runs as root)."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "a full disk needs a small file system, and mount -t tmpfs is not allowed here "
            f"(not root, or no CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_ends_the_run_with_one_line(tmp_path: Path, tiny_disk: Path) -> None:
    project = Project(tmp_path / "project", tiny_disk / "home")
    filler = tiny_disk / "filler"

    def fill_the_disk(pid: int) -> None:
        # Writing until the file system refuses is the point: ENOSPC ends the loop.
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()

    try:
        execution_id, _, err = _end_with_an_unwritable_store(project, fill_the_disk)

        database = project.home / "runs.db"
        cause = f"the run store {database} cannot be written: [Errno 28] No space left on device"
        # The space the store keeps for the end of a run is what lets it record this.
        assert err.splitlines() == [
            f"sagepipe: error: {cause}; execution {execution_id} is marked Failed (once the "
            f"cause is fixed, resume it with: sagepipe run --resume {execution_id})"
        ]
        shown = project.show(execution_id)
        assert shown["status"] == "Failed"
        assert shown["failure_reason"] == cause
        assert statuses(shown) == {"prep": "Succeeded", "work": "Stopped", "last": "NotRun"}
        assert reasons(shown)["work"] == f"stopped: {cause}"
        assert project.prep_output(execution_id) == "prepared"
    finally:
        filler.unlink(missing_ok=True)
    project.resume(execution_id)
    assert project.prep_output(execution_id) == "prepared"


def test_a_run_store_that_cannot_even_be_created_is_one_line(project: Project) -> None:
    process = project.start("pipeline.py:pipeline", limit=20_000)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 2, out + err
    assert err.splitlines() == [
        f"sagepipe: error: the run store {project.home / 'runs.db'} cannot be opened: "
        "[Errno 27] File too large"
    ]
