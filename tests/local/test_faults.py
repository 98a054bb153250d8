"""Faults: Ctrl-C stops running steps, a killed step process fails its step; resume after
either. The engine runs as a real ``sagepipe run`` subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sagepipe.local.store import RunStore
from sagepipe.storage import get_storage

PIPELINE = """
    from pathlib import Path
    from sagepipe.config import ProcessingConfig, ProcessingOutput
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    HERE = Path(__file__).parent


    def step(name, depends_on=()):
        config = ProcessingConfig(
            processing_entry_point=f"{name}.py",
            source_dir=str(HERE / "code"),
            framework_version="2.1.0",
            py_version="py310",
            outputs=[ProcessingOutput(name="out")],
            env={"MARKERS": str(HERE / "markers")},
        )
        return ProcessingStepBuilder(config).create_step(list(depends_on), name=name)


    def pipeline():
        slow = step("slow")
        return Pipeline("faults", [slow, step("after", [slow])])
"""
SLOW = """
    import os, pathlib, subprocess, sys, time
    out = pathlib.Path("/opt/ml/processing/output/out")
    (out / "partial.txt").write_text("half done")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    markers = pathlib.Path(os.environ["MARKERS"])
    (markers / "slow.pids").write_text(f"{os.getpid()} {child.pid}")
    time.sleep(120)
"""
QUICK = """
    import pathlib
    pathlib.Path("/opt/ml/processing/output/out/done.txt").write_text("done")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "markers").mkdir()
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "code" / "slow.py").write_text(textwrap.dedent(SLOW))
    (tmp_path / "code" / "after.py").write_text(textwrap.dedent(QUICK))
    return tmp_path


def _start(project: Path, home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sagepipe", "run", *args],
        cwd=project,
        env=dict(os.environ, SAGEPIPE_HOME=str(home), SAGEPIPE_STORAGE="local"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> list[int]:
    deadline = time.monotonic() + 60
    while not (path.is_file() and len(path.read_text().split()) == 2):
        if process.poll() is not None:
            pytest.fail(f"sagepipe run ended early: {process.communicate()[0]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the slow step never started")
        time.sleep(0.05)
    return [int(pid) for pid in path.read_text().split()]


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _execution_id(output: str) -> str:
    for line in output.splitlines():
        if "execution " in line and " of pipeline " in line:
            return line.split("execution ", 1)[1].split()[0]
    raise AssertionError(f"no execution id in {output!r}")


def _resume_after_fix(project: Path, home: Path, execution_id: str) -> None:
    (project / "code" / "slow.py").write_text(textwrap.dedent(QUICK))
    resumed = _start(project, home, "--resume", execution_id)
    output = resumed.communicate(timeout=120)[0]
    assert resumed.returncode == 0, output
    store = RunStore.open(home)
    assert [s.status for s in store.steps(execution_id)] == ["Succeeded", "Succeeded"]
    assert store.execution(execution_id).status == "Succeeded"


@pytest.mark.slow
def test_ctrl_c_stops_running_steps_and_leaves_no_partial_outputs(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    process = _start(project, home, "pipeline.py:pipeline")
    script_pid, child_pid = _wait_for(project / "markers" / "slow.pids", process)

    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0]

    assert process.returncode == 130, output
    execution_id = _execution_id(output)
    store = RunStore.open(home)
    steps = {s.name: s for s in store.steps(execution_id)}
    assert steps["slow"].status == "Stopped"
    assert steps["after"].status == "NotRun"
    assert store.execution(execution_id).status == "Stopped"
    assert _gone(script_pid) and _gone(child_pid)
    storage = get_storage("local", home)
    assert storage.list(f"s3://sagepipe-local/faults/{execution_id}/") == []
    assert f"sagepipe run --resume {execution_id}" in output

    _resume_after_fix(project, home, execution_id)


@pytest.mark.slow
def test_killed_step_process_fails_its_step_with_a_reason(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    process = _start(project, home, "pipeline.py:pipeline")
    script_pid, child_pid = _wait_for(project / "markers" / "slow.pids", process)
    store = RunStore.open(home)
    execution_id = store.executions()[0].execution_id
    step_pid = store.step(execution_id, "slow").pid
    assert step_pid is not None

    os.kill(step_pid, signal.SIGKILL)
    output = process.communicate(timeout=60)[0]

    assert process.returncode == 1, output
    slow = store.step(execution_id, "slow")
    assert slow.status == "Failed"
    assert slow.failure_reason == "step process was killed by signal 9 (SIGKILL)"
    assert "killed by signal 9" in output
    assert store.step(execution_id, "after").status == "NotRun"
    assert _gone(script_pid) and _gone(child_pid)

    _resume_after_fix(project, home, execution_id)


@pytest.mark.slow
def test_resume_after_the_engine_itself_was_killed(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    process = _start(project, home, "pipeline.py:pipeline")
    script_pid, child_pid = _wait_for(project / "markers" / "slow.pids", process)
    store = RunStore.open(home)
    execution_id = store.executions()[0].execution_id

    process.kill()
    process.communicate(timeout=60)

    # The step process, its script and the script's child die with the engine.
    assert _gone(script_pid) and _gone(child_pid)
    assert store.execution(execution_id).status == "Executing"  # nobody has looked yet
    _resume_after_fix(project, home, execution_id)
