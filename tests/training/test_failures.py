"""Failure reasons, stopping conditions and jobs that cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.training import TrainingJobError

from .helpers import RunJob, WriteSource


def test_reason_from_output_failure(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {
            "train.py": """
            import os, sys
            with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
                f.write("AlgorithmError: the labels column is missing\\n")
            print("about to fail")
            sys.exit(3)
            """
        }
    )
    result, lines = run_job(source)
    assert result.exit_code == 3
    assert result.failure_reason == "AlgorithmError: the labels column is missing"
    assert lines == ["about to fail"]


def test_reason_from_the_traceback(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {
            "train.py": """
            def load():
                raise FileNotFoundError("train.csv not found in /opt/ml/input/data/train")
            print("starting")
            load()
            """
        }
    )
    result, lines = run_job(source)
    assert result.exit_code == 1
    reason = result.failure_reason
    assert reason is not None
    # The exception line comes first: one-line views of the reason show what went wrong.
    first, traceback = reason.split("\n", 1)
    assert first == "FileNotFoundError: train.csv not found in /opt/ml/input/data/train"
    assert traceback.startswith("Traceback (most recent call last):")
    assert reason.endswith("FileNotFoundError: train.csv not found in /opt/ml/input/data/train")
    assert "starting" not in reason
    # The reason is also left in output/failure, as the toolkit does.
    assert (result.model_dir.parent / "output" / "failure").read_text().strip() == reason
    assert lines[0] == "starting"
    assert result.log_path.read_text().splitlines()[1:] == lines  # [0]: the command


def test_reason_without_a_traceback(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source({"train.py": "import sys\nprint('bad input')\nsys.exit(7)\n"})
    result, _ = run_job(source)
    assert result.exit_code == 7
    assert result.failure_reason == (
        "the script exited with code 7: bad input\nlast lines:\nbad input"
    )


@pytest.mark.slow
def test_max_runtime_stops_the_job(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {"train.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"}
    )
    result, lines = run_job(source, max_runtime_seconds=1)
    assert result.exit_code != 0
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("MaxRuntimeExceeded")
    assert lines == ["sleeping"]


def test_a_rerun_forgets_the_earlier_failure(write_source: WriteSource, run_job: RunJob) -> None:
    failing = write_source({"train.py": "raise SystemExit('first attempt failed')\n"})
    first, _ = run_job(failing)
    assert first.exit_code == 1
    (failing / "train.py").write_text("print('ok')\n")
    second, _ = run_job(failing)
    assert second.exit_code == 0
    assert second.failure_reason is None
    assert not (second.model_dir.parent / "output" / "failure").exists()


def test_jobs_that_cannot_start(tmp_path: Path, write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source({"train.py": "print(1)\n"})
    with pytest.raises(
        TrainingJobError, match=r"'trian\.py' is not a file.*did you mean 'train\.py'"
    ):
        run_job(source, entry_point="trian.py")
    with pytest.raises(TrainingJobError, match=r"channel 'train'.*is not a directory"):
        run_job(source, channels={"train": tmp_path / "missing"})
    with pytest.raises(TrainingJobError, match=r"source_dir .* is not a directory"):
        run_job(tmp_path / "nowhere")
