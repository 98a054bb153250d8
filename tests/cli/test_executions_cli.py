"""``sagepipe executions list | show | logs | metrics`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sagepipe.local.records import ExecutionRecord, MetricPoint
from sagepipe.local.store import RunStore

PIPELINE = """
    from pathlib import Path
    from sagepipe.config import ProcessingConfig, ProcessingOutput
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    HERE = Path(__file__).parent


    def pipeline():
        config = ProcessingConfig(
            processing_entry_point="hello.py",
            source_dir=str(HERE / "code"),
            outputs=[ProcessingOutput(name="out")],
            framework_version="2.1.0",
            py_version="py310",
        )
        return Pipeline("cli-executions", [ProcessingStepBuilder(config).create_step(name="hello")])
"""


def sagepipe(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=project,
        env=dict(os.environ, SAGEPIPE_HOME=str(project / "home"), SAGEPIPE_STORAGE="local"),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = tmp_path_factory.mktemp("executions")
    (project / "code").mkdir()
    (project / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (project / "code" / "hello.py").write_text("print('hello from the step')\n")
    done = sagepipe(project, "run", "pipeline.py:pipeline")
    assert done.returncode == 0, done.stdout + done.stderr
    return project, done.stdout.split("execution ", 1)[1].split()[0]


def test_list_shows_the_execution(executed: tuple[Path, str]) -> None:
    project, execution_id = executed
    done = sagepipe(project, "executions", "list")
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["ID", "PIPELINE", "STATUS", "STARTED", "DURATION", "DONE"]
    assert any(row.split()[:3] == [execution_id, "cli-executions", "Succeeded"] for row in rows)


def test_show_lists_steps_and_json_has_properties(executed: tuple[Path, str]) -> None:
    project, execution_id = executed
    done = sagepipe(project, "executions", "show", execution_id)
    assert done.returncode == 0
    assert "hello" in done.stdout and "Processing" in done.stdout
    as_json = json.loads(sagepipe(project, "executions", "show", execution_id, "--json").stdout)
    step = as_json["steps"][0]
    assert step["status"] == "Succeeded"
    # Properties are DescribeProcessingJob's: outputs listed with their names.
    [output] = step["properties"]["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "out"
    assert output["S3Output"]["S3Uri"].endswith(f"/{execution_id}/hello/output/out")


def test_logs_prints_the_step_log(executed: tuple[Path, str]) -> None:
    project, execution_id = executed
    done = sagepipe(project, "executions", "logs", execution_id, "hello")
    assert done.returncode == 0
    assert "hello from the step" in done.stdout
    wrong = sagepipe(project, "executions", "logs", execution_id, "helo")
    assert wrong.returncode == 2 and "did you mean 'hello'" in wrong.stderr


def test_metrics_summary_points_and_json(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "home")
    store.create_execution(
        ExecutionRecord(
            execution_id="metricsexec01",
            pipeline_name="p",
            ir_json="{}",
            root="/",
            parameters={},
            status="Succeeded",
            storage="local",
            start_time=time.time(),
            end_time=time.time(),
            failure_reason=None,
            engine_pid=None,
        ),
        [("train", "PyTorchTrainingStep")],
    )
    store.add_metrics(
        "metricsexec01",
        [MetricPoint("train", "Train Loss", v, 1.0 + i, i) for i, v in enumerate([0.9, 0.5, 0.3])],
    )
    store.close()

    summary = sagepipe(tmp_path, "executions", "metrics", "metricsexec01")
    assert summary.returncode == 0
    assert summary.stdout.splitlines()[1].split() == [
        "train",
        "Train",
        "Loss",
        "3",
        "0.3",
        "0.3",
        "0.9",
    ]
    points = sagepipe(
        tmp_path, "executions", "metrics", "metricsexec01", "--step", "train", "--points"
    )
    assert len(points.stdout.splitlines()) == 4
    as_json = json.loads(
        sagepipe(tmp_path, "executions", "metrics", "metricsexec01", "--json").stdout
    )
    assert [p["value"] for p in as_json] == [0.9, 0.5, 0.3]
    unknown = sagepipe(tmp_path, "executions", "metrics", "metricsexec01", "--step", "nope")
    assert unknown.returncode == 2


def test_unknown_execution_is_a_one_line_error(tmp_path: Path) -> None:
    done = sagepipe(tmp_path, "executions", "show", "nope")
    assert done.returncode == 2
    assert "no execution 'nope'" in done.stderr
