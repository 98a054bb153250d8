"""The starter project of `sagepipe config init`: valid right away, never overwrites, and its
scripts really preprocess, train and serve."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.config import ModelHyperparameters, PyTorchTrainingConfig
from sagepipe.definitions import load_pipeline
from sagepipe.definitions.errors import ExistingFileError
from sagepipe.definitions.starter import starter_files, write_starter

FILES = ["pipeline.yaml", "code/inference.py", "code/preprocess.py", "code/train.py"]


def test_starter_files() -> None:
    assert list(starter_files()) == sorted(FILES)
    assert starter_files()["pipeline.yaml"].startswith("# A starter tabular pipeline")


def test_written_starter_is_a_valid_pipeline(tmp_path: Path) -> None:
    written = write_starter(tmp_path / "new" / "project")
    root = tmp_path / "new" / "project"
    assert written == [root / name for name in ["pipeline.yaml", *sorted(FILES[1:])]]
    pipeline = load_pipeline(str(root / "pipeline.yaml"))
    pipeline.validate()
    assert [s.name for s in pipeline.execution_order()] == [
        "preprocess", "train", "model", "packaging", "payload", "registration"
    ]  # fmt: skip
    assert sorted(p.name for p in pipeline.parameters) == ["InputData", "TrainingInstanceType"]
    for script in FILES[1:]:
        compile((root / script).read_text(), script, "exec")


def test_nothing_is_overwritten_or_written(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("# mine\n")
    with pytest.raises(ExistingFileError, match=r"train\.py already exists"):
        write_starter(tmp_path)
    assert (tmp_path / "code" / "train.py").read_text() == "# mine\n"
    assert not (tmp_path / "pipeline.yaml").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["code", "train.py"]


def write_raw_data(folder: Path, rows: int = 120) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(0)
    with (folder / "part.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", "x1", "x2", "x3"])
        for i in range(rows):
            x = [rng.gauss(0, 1) for _ in range(3)]
            writer.writerow([i, int(x[0] + 0.5 * x[1] > 0), *x])


@pytest.mark.slow
def test_starter_scripts_preprocess_train_and_serve(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_starter(root)
    code = root / "code"
    write_raw_data(tmp_path / "raw")
    processed = tmp_path / "processed"
    subprocess.run(
        [sys.executable, str(code / "preprocess.py"), "--input-dir", str(tmp_path / "raw"),
         "--output-dir", str(processed)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert sorted(p.name for p in processed.iterdir()) == ["test", "train", "val"]

    pipeline = load_pipeline(str(root / "pipeline.yaml"))
    train_config = pipeline.step("train").config["hyperparameters"]
    hyperparameters = ModelHyperparameters(**train_config).to_sagemaker()
    arguments = [item for key, value in hyperparameters.items() for item in (f"--{key}", value)]
    model_dir = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, str(code / "train.py"), *arguments],
        env={**os.environ, "SM_CHANNEL_DATA": str(processed), "SM_MODEL_DIR": str(model_dir)},
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    for definition in PyTorchTrainingConfig.model_fields["metric_definitions"].get_default(
        call_default_factory=True
    ):
        assert f"{definition.Name}: " in result.stdout
    assert json.loads((model_dir / "hyperparameters.json").read_text())["epochs"] == 5

    spec = importlib.util.spec_from_file_location("starter_inference", code / "inference.py")
    assert spec is not None and spec.loader is not None
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    model = inference.model_fn(str(model_dir))
    for body, content_type in (
        ("0.1,0.2,0.3\n1,2,3\n", "text/csv"),
        ("[[0.1,0.2,0.3]]", "application/json"),
    ):
        prediction = inference.predict_fn(inference.input_fn(body, content_type), model)
        probabilities = json.loads(inference.output_fn(prediction, "application/json"))
        assert all(abs(sum(row) - 1) < 1e-5 for row in probabilities)


def test_a_failing_preprocess_exits_non_zero_with_a_reason(tmp_path: Path) -> None:
    write_starter(tmp_path / "project")
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [sys.executable, str(tmp_path / "project" / "code" / "preprocess.py"),
         "--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no CSV files under" in result.stderr
