"""The whole engine on the S3 backend, against moto's standalone server over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PIPELINE = """
    from pathlib import Path
    from sagepipe.config import ProcessingConfig, ProcessingInput, ProcessingOutput
    from sagepipe.pipeline import ParameterString, Pipeline
    from sagepipe.steps import ProcessingStepBuilder

    HERE = Path(__file__).parent
    BUCKET = (HERE / "bucket.txt").read_text().strip()


    def step(name, inputs, depends_on=()):
        config = ProcessingConfig(
            processing_entry_point=f"{name}.py",
            source_dir=str(HERE / "code"),
            framework_version="2.1.0",
            py_version="py310",
            bucket=BUCKET,
            prefix="team/project",
            inputs=[ProcessingInput(name=n) for n in inputs],
            outputs=[ProcessingOutput(name="out")],
        )
        return ProcessingStepBuilder(config).create_step(
            list(depends_on), name=name, inputs=inputs
        )


    def pipeline():
        raw = ParameterString("Raw", f"s3://{BUCKET}/raw/")
        first = step("double", {"raw": raw})
        second = step("total", {"out": first.output_ref("out")}, [first])
        return Pipeline("s3-pipeline", [first, second])
"""
DOUBLE = """
    import pathlib
    numbers = pathlib.Path("/opt/ml/processing/input/raw/numbers.txt").read_text().split()
    doubled = " ".join(str(2 * int(n)) for n in numbers)
    pathlib.Path("/opt/ml/processing/output/out/doubled.txt").write_text(doubled)
"""
TOTAL = """
    import pathlib
    numbers = pathlib.Path("/opt/ml/processing/input/out/doubled.txt").read_text().split()
    pathlib.Path("/opt/ml/processing/output/out/total.txt").write_text(str(sum(map(int, numbers))))
"""


@pytest.mark.slow
def test_run_on_s3_end_to_end(tmp_path: Path, s3_bucket: str, s3_environ: dict[str, str]) -> None:
    import boto3

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "double.py").write_text(textwrap.dedent(DOUBLE))
    (tmp_path / "code" / "total.py").write_text(textwrap.dedent(TOTAL))
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "bucket.txt").write_text(s3_bucket)
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="raw/numbers.txt", Body=b"1 2 3")
    env = dict(os.environ, SAGEPIPE_HOME=str(tmp_path / "home"))

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagepipe", "run", "pipeline.py:pipeline", "--storage", "s3"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    done = run()

    assert done.returncode == 0, done.stdout + done.stderr
    execution_id = done.stdout.split("execution ", 1)[1].split()[0]
    key = f"team/project/{execution_id}/total/output/out/total.txt"
    assert client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == b"12"
    assert not (tmp_path / "home" / "objects").exists()

    again = run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(f"cached from {execution_id}") == 2
