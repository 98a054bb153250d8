"""``sagepipe run`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PIPELINE = """
    from pathlib import Path
    from sagepipe.config import ProcessingConfig, ProcessingOutput
    from sagepipe.pipeline import ParameterInteger, ParameterString, Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    HERE = Path(__file__).parent


    def pipeline():
        config = ProcessingConfig(
            processing_entry_point="report.py",
            source_dir=str(HERE / "code"),
            outputs=[ProcessingOutput(name="out")],
            processing_instance_count=ParameterInteger("Count", 1),
            processing_instance_type=ParameterString("Instance", "ml.m5.xlarge"),
            framework_version="2.1.0",
            py_version="py310",
        )
        report = ProcessingStepBuilder(config).create_step(name="report")
        return Pipeline("cli-run", [report])
"""
REPORT = """
    import json, os, pathlib, sys
    # /opt/ml, or where it is when this machine cannot mount it (rewrite mode)
    opt_ml = pathlib.Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))
    config = json.loads((opt_ml / "config/processingjobconfig.json").read_text())
    cluster = config["ProcessingResources"]["ClusterConfig"]
    if cluster["InstanceCount"] > 5:
        sys.exit("too many instances")
    (opt_ml / "processing/output/out/cluster.json").write_text(json.dumps(cluster))
    print("cluster", cluster)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "code" / "report.py").write_text(textwrap.dedent(REPORT))
    return tmp_path


def sagepipe(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=project,
        env=dict(os.environ, SAGEPIPE_HOME=str(project / "home"), SAGEPIPE_STORAGE="local", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _execution_id(stdout: str) -> str:
    return stdout.split("execution ", 1)[1].split()[0]


def _cluster(project: Path, execution_id: str) -> dict:  # type: ignore[type-arg]
    path = (
        project
        / "home"
        / "objects"
        / "sagepipe-local"
        / "cli-run"
        / execution_id
        / "report"
        / "output"
        / "out"
        / "cluster.json"
    )
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_run_prints_the_execution_and_a_summary(project: Path) -> None:
    done = sagepipe(project, "run", "pipeline.py:pipeline")

    assert done.returncode == 0, done.stderr + done.stdout
    execution_id = _execution_id(done.stdout)
    assert f"execution {execution_id}: Succeeded" in done.stdout
    assert "report" in done.stdout and "Succeeded" in done.stdout
    assert _cluster(project, execution_id)["InstanceCount"] == 1


def test_params_reach_config_fields_and_cache_reacts(project: Path) -> None:
    done = sagepipe(
        project,
        "run",
        "pipeline.py:pipeline",
        "--param",
        "Count=3",
        "--param",
        "Instance=ml.c5.2xlarge",
    )
    assert done.returncode == 0, done.stderr + done.stdout
    cluster = _cluster(project, _execution_id(done.stdout))
    assert cluster["InstanceCount"] == 3
    assert cluster["InstanceType"] == "ml.c5.2xlarge"

    again = sagepipe(
        project,
        "run",
        "pipeline.py:pipeline",
        "--param",
        "Count=3",
        "--param",
        "Instance=ml.c5.2xlarge",
    )
    assert "cached from" in again.stdout
    forced = sagepipe(
        project,
        "run",
        "pipeline.py:pipeline",
        "--param",
        "Count=3",
        "--param",
        "Instance=ml.c5.2xlarge",
        "--no-cache",
    )
    assert forced.returncode == 0 and "cached from" not in forced.stdout


def test_failed_step_exits_1_with_its_reason_and_resume_fixes_it(project: Path) -> None:
    failed = sagepipe(project, "run", "pipeline.py:pipeline", "--param", "Count=9")

    assert failed.returncode == 1
    assert "too many instances" in failed.stdout
    execution_id = _execution_id(failed.stdout)
    assert f"sagepipe run --resume {execution_id}" in failed.stdout

    script = project / "code" / "report.py"
    script.write_text(script.read_text().replace("> 5", "> 50"))
    resumed = sagepipe(project, "run", "--resume", execution_id)
    assert resumed.returncode == 0, resumed.stdout
    assert _cluster(project, execution_id)["InstanceCount"] == 9


def test_user_mistakes_exit_2_with_one_line(project: Path) -> None:
    unknown = sagepipe(project, "run", "pipeline.py:pipeline", "--param", "Cont=3")
    assert unknown.returncode == 2
    assert "did you mean 'Count'" in unknown.stderr
    bad_type = sagepipe(project, "run", "pipeline.py:pipeline", "--param", "Count=many")
    assert bad_type.returncode == 2 and "Integer" in bad_type.stderr
    malformed = sagepipe(project, "run", "pipeline.py:pipeline", "--param", "Count")
    assert malformed.returncode == 2 and "NAME=VALUE" in malformed.stderr
    missing = sagepipe(project, "run", "--resume", "nosuchexecid")
    assert missing.returncode == 2 and "no execution 'nosuchexecid'" in missing.stderr
    nothing = sagepipe(project, "run")
    assert nothing.returncode == 2 and "PIPELINE" in nothing.stderr
    zero = sagepipe(project, "run", "pipeline.py:pipeline", "--max-parallel", "0")
    assert zero.returncode == 2 and "--max-parallel" in zero.stderr


def test_help_does_not_import_the_engine(project: Path) -> None:
    probe = (
        "import sys, sagepipe.cli.main as m\n"
        "m.build_parser()\n"
        "heavy = [n for n in ('boto3', 'torch', 'numpy', 'sagepipe.local.engine') "
        "if n in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
