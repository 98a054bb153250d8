"""``sagepipe train`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

TRAIN = textwrap.dedent(
    """
    import argparse, json, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--optimizer")
    args = parser.parse_args()
    rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "part-0.csv")).read().split()
    extra = sorted(os.listdir(os.environ["SM_CHANNEL_EXTRA"]))
    ckpt = os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "checkpoints", "epoch.txt")
    start = int(open(ckpt).read()) if os.path.exists(ckpt) else 0
    open(ckpt, "w").write(str(start + args.epochs))
    for epoch in range(args.epochs):
        print(f"Train Loss: {1.0 / (epoch + 1)}")
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
        json.dump({"rows": rows, "extra": extra, "optimizer": args.optimizer,
                   "resumed_from": start}, f)
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w") as f:
        f.write("done")
    """
)


def _sagepipe(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SAGEPIPE_HOME": str(home), **(env or {})}
    full_env.pop("SAGEPIPE_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=240,
    )


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(TRAIN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "part-0.csv").write_text("1,2\n3,4\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "vocab.txt").write_text("a b")
    return tmp_path


@pytest.mark.slow
def test_train_on_the_local_store(project: Path) -> None:
    home = project / "home"
    data = str(project / "data")
    upload = _sagepipe("s3", "cp", "--recursive", data, "s3://in-bucket/data", home=home)
    assert upload.returncode == 0, upload.stderr
    args = [
        "train", "--entry-point", "train.py", "--source-dir", str(project / "src"),
        "--channel", "train=s3://in-bucket/data", "--channel", f"extra={project / 'extra'}",
        "--hyperparameter", "epochs=2", "--hyperparameter", "optimizer=adam",
        "--metric-definition", "loss=Train Loss: ([0-9.]+)",
        "--metric-definition", "acc=Accuracy: ([0-9.]+)",
        "--checkpoint-s3-uri", "s3://in-bucket/checkpoints",
        "--output-path", "s3://out-bucket/jobs",
    ]  # fmt: skip
    run = _sagepipe(*args, "--job-name", "first", home=home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "Train Loss: 0.5" in lines
    assert "metric loss: 0.5" in lines
    assert (
        "sagepipe: warning: metric definition 'acc' never matched a line of the training log"
        in lines
    )
    assert lines[-2:] == [
        "model: s3://out-bucket/jobs/first/output/model.tar.gz",
        "output: s3://out-bucket/jobs/first/output/output.tar.gz",
    ]
    objects = home / "objects" / "out-bucket" / "jobs" / "first" / "output"
    model = json.loads(_members(objects / "model.tar.gz")["model.json"])
    assert model == {
        "rows": ["1,2", "3,4"], "extra": ["vocab.txt"], "optimizer": "adam", "resumed_from": 0
    }  # fmt: skip
    assert _members(objects / "output.tar.gz") == {"report.txt": b"done"}
    assert (home / "jobs" / "first" / "opt-ml" / "training.log").exists()

    # A second job restores the checkpoints the first one saved.
    again = _sagepipe(*args, "--job-name", "second", home=home)
    assert again.returncode == 0, again.stderr
    assert "checkpoints restored from s3://in-bucket/checkpoints" in again.stdout
    objects = home / "objects" / "out-bucket" / "jobs" / "second" / "output"
    assert json.loads(_members(objects / "model.tar.gz")["model.json"])["resumed_from"] == 2

    duplicate = _sagepipe(*args, "--job-name", "second", home=home)
    assert duplicate.returncode == 2
    assert "training job 'second' already exists" in duplicate.stderr


@pytest.mark.slow
def test_failing_job_exits_1_with_the_reason(project: Path) -> None:
    (project / "src" / "boom.py").write_text("raise ValueError('no labels in the data')\n")
    run = _sagepipe(
        "train", "--entry-point", "boom.py", "--source-dir", str(project / "src"),
        "--job-name", "boom", home=project / "home",
    )  # fmt: skip
    assert run.returncode == 1
    assert "training job boom failed (exit code 1)" in run.stderr
    assert "ValueError: no labels in the data" in run.stderr
    assert not (project / "home" / "objects").exists()


def test_user_mistakes_exit_2(project: Path) -> None:
    home = project / "home"
    bad_channel = _sagepipe(
        "train", "--entry-point", "train.py", "--source-dir", str(project / "src"),
        "--channel", "train", home=home,
    )  # fmt: skip
    assert bad_channel.returncode == 2
    assert bad_channel.stderr == "sagepipe: error: --channel 'train' must look like NAME=VALUE\n"
    missing = _sagepipe(
        "train", "--entry-point", "train.py", "--source-dir", str(project / "src"),
        "--channel", "train=s3://in-bucket/nothing", "--job-name", "missing", home=home,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "channel 'train' reads s3://in-bucket/nothing, where there is no object" in (
        missing.stderr
    )
    assert not (home / "jobs" / "missing").exists()


@pytest.mark.slow
def test_train_against_s3(project: Path, s3_env: dict[str, str], s3_bucket: str) -> None:
    home = project / "home"
    env = {**s3_env}
    up = _sagepipe(
        "s3", "cp", "--storage", "s3", "--recursive", str(project / "data"),
        f"s3://{s3_bucket}/data", home=home, env=env,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    run = _sagepipe(
        "train", "--storage", "s3", "--entry-point", "train.py",
        "--source-dir", str(project / "src"),
        "--channel", f"train=s3://{s3_bucket}/data", "--channel", f"extra={project / 'extra'}",
        "--hyperparameter", "epochs=1", "--output-path", f"s3://{s3_bucket}/jobs",
        "--job-name", "on-s3", home=home, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-2] == f"model: s3://{s3_bucket}/jobs/on-s3/output/model.tar.gz"
    listed = _sagepipe(
        "s3", "ls", "--storage", "s3", "--recursive", f"s3://{s3_bucket}/jobs", home=home, env=env
    )
    assert [line.split()[-1] for line in listed.stdout.splitlines()] == [
        "jobs/on-s3/output/model.tar.gz",
        "jobs/on-s3/output/output.tar.gz",
    ]
    assert not (home / "objects").exists()
