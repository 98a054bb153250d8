"""Training steps through the engine: channels, hyperparameters, model.tar.gz, metrics,
failure reasons, checkpoints. The scripts are pure Python (no torch)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import ModelHyperparameters, PyTorchTrainingConfig
from sagepipe.local.store import RunStore
from sagepipe.pipeline import Pipeline, Step
from sagepipe.steps import PyTorchTrainingStepBuilder
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, StepFactory, by_name

PREP = """
    import pathlib
    out = pathlib.Path("/opt/ml/processing/output/processed_data")
    for split in ("train", "val"):
        (out / split).mkdir(parents=True)
        (out / split / "data.csv").write_text(f"{split},1,2\\n")
"""
TRAIN = """
    import argparse, json, os, pathlib
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--label_name")
    args, _ = parser.parse_known_args()
    data = pathlib.Path(os.environ["SM_CHANNEL_DATA"])
    splits = sorted(p.name for p in data.iterdir())
    for epoch in range(args.epochs):
        print(f"Train Loss: {1.0 / (epoch + 1):.4f}", flush=True)
    model = pathlib.Path(os.environ["SM_MODEL_DIR"])
    (model / "model.json").write_text(json.dumps({
        "splits": splits, "label": args.label_name, "epochs": args.epochs,
        "fields": json.loads(os.environ["SM_HPS"])["full_field_list"],
    }))
    (pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"]) / "eval.txt").write_text("ok")
"""
HYPERPARAMETERS = ModelHyperparameters(
    id_name="id", label_name="y", full_field_list=["id", "y", "a"], tab_field_list=["a"], epochs=3
)


def training_step(
    code: Path,
    depends_on: tuple[Step, ...] = (),
    inputs: dict[str, Any] | None = None,
    **config: Any,
) -> Step:
    settings: dict[str, Any] = {
        "source_dir": str(code),
        "training_entry_point": "train.py",
        "framework_version": "2.1.0",
        "py_version": "py310",
        "training_instance_type": "ml.m5.xlarge",
        **config,
    }
    return PyTorchTrainingStepBuilder(PyTorchTrainingConfig(**settings)).create_step(
        list(depends_on), name="train", inputs=inputs or {}
    )


def _members(storage: RoutedStorage, uri: str) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(storage.open_read(uri).read()), mode="r:gz") as tar:
        return {
            m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_training_step_produces_model_tar_metrics_and_warnings(
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
    home: Path,
) -> None:
    prep = processing_step(
        "prep", make_code("prep", **{"script.py": PREP}), outputs=("processed_data",)
    )
    train = training_step(
        make_code("train", **{"train.py": TRAIN}),
        depends_on=(prep,),
        hyperparameters=HYPERPARAMETERS,
    )

    outcome = run([prep, train], install_requirements=False)

    record = by_name(outcome)["train"]
    assert outcome.status == "Succeeded", record.failure_reason
    properties = record.properties
    job = properties["TrainingJobName"]
    # The compiled request's output path (SageMaker adds the job name, unique per execution).
    prefix = "s3://sagepipe-local/test-pipeline/training/train"
    assert properties["ModelArtifacts"]["S3ModelArtifacts"] == f"{prefix}/{job}/output/model.tar.gz"
    assert properties["OutputDataConfig"]["S3OutputPath"] == prefix
    described = properties["HyperParameters"]  # as the request has them (DescribeTrainingJob)
    # CreateTrainingJob carries each value JSON-encoded, as the SageMaker SDK writes it.
    # Only the fields set on the typed hyperparameters; the script's defaults cover the rest.
    expected = {
        k: v
        for k, v in HYPERPARAMETERS.to_sagemaker().items()
        if k in HYPERPARAMETERS.model_fields_set
    }
    user = {k for k in described if not k.startswith("sagemaker_")}
    assert user == {"id_name", "label_name", "full_field_list", "tab_field_list", "epochs"}
    assert {k: json.loads(described[k]) for k in expected} == {
        k: _decoded(v) for k, v in expected.items()
    }
    assert described["sagemaker_program"] == '"train.py"'
    model = json.loads(_members(storage, f"{prefix}/{job}/output/model.tar.gz")["model.json"])
    assert model == {
        "splits": ["train", "val"],
        "fields": ["id", "y", "a"],
        "label": "y",
        "epochs": 3,
    }
    assert _members(storage, f"{prefix}/{job}/output/output.tar.gz") == {"eval.txt": b"ok"}

    final = {m["MetricName"]: m["Value"] for m in properties["FinalMetricDataList"]}
    assert final == {"Train Loss": pytest.approx(1 / 3, abs=1e-4)}
    points = RunStore.open(home).metrics(outcome.execution_id, "train")
    assert [(p.name, p.index) for p in points] == [("Train Loss", i) for i in range(3)]
    assert [p.value for p in points] == pytest.approx([1.0, 0.5, 1 / 3], abs=1e-4)
    never = {"Validation Loss", "Validation F1 Score", "Validation AUC ROC"}
    unmatched = [w for w in record.warnings if "never matched" in w]
    assert len(unmatched) == 3
    assert all(any(f"'{name}'" in w for w in unmatched) for name in never)
    log = Path(record.log_path).read_text()
    assert "never matched" in log


def test_failed_training_keeps_failure_file_reason_and_metrics(
    tmp_path: Path, make_code: CodeFactory, run: Runner, home: Path
) -> None:
    code = make_code(
        "bad",
        **{
            "train.py": """
                import os, pathlib, sys
                print("Train Loss: 0.9", flush=True)
                failure = pathlib.Path(os.environ["SM_OUTPUT_DIR"]) / "failure"
                failure.write_text("ValueError: the label column is empty")
                sys.exit(3)
            """
        },
    )
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "x.csv").write_text("1")
    train = training_step(code, inputs={"input_path": str(data)})

    outcome = run([train], install_requirements=False)

    record = by_name(outcome)["train"]
    assert record.status == "Failed"
    assert "ValueError: the label column is empty" in (record.failure_reason or "")
    assert [p.value for p in RunStore.open(home).metrics(outcome.execution_id)] == [0.9]
    assert Path(record.log_path).is_file()


def test_checkpoints_are_synced_and_restored(
    tmp_path: Path, make_code: CodeFactory, home: Path, storage: RoutedStorage, run: Runner
) -> None:
    code = make_code(
        "ckpt",
        **{
            "train.py": """
                import os, pathlib
                state = pathlib.Path("/opt/ml/checkpoints/state.txt")
                count = int(state.read_text()) + 1 if state.exists() else 1
                state.write_text(str(count))
                (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "count.txt").write_text(str(count))
            """
        },
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("1")
    pipeline = Pipeline(
        "ckpt",
        [
            training_step(
                code,
                inputs={"input_path": str(data)},
                checkpoint_s3_uri="s3://sagepipe-local/checkpoints/run",
            )
        ],
        root=tmp_path,
    )
    for expected in (b"1", b"2"):
        outcome = run(pipeline, {}, use_cache=False, install_requirements=False)
        assert outcome.status == "Succeeded", outcome.failure_reason
        assert storage.open_read("s3://sagepipe-local/checkpoints/run/state.txt").read() == expected


def test_requirements_are_skipped_with_no_requirements(
    tmp_path: Path, make_code: CodeFactory, run: Runner
) -> None:
    code = make_code(
        "reqs",
        **{
            "train.py": "print('trained')\n",
            "requirements.txt": "sagepipe-package-that-does-not-exist==9.9.9\n",
        },
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("1")
    outcome = run(
        [training_step(code, inputs={"input_path": str(data)})], install_requirements=False
    )
    assert outcome.status == "Succeeded", outcome.failure_reason


def test_training_script_reads_hard_coded_opt_ml_paths(
    tmp_path: Path, make_code: CodeFactory, run: Runner, storage: RoutedStorage
) -> None:
    from sagepipe.local.sandbox import detect_mode

    if detect_mode() != "namespace":
        pytest.skip("this machine cannot give a step a private /opt/ml")
    code = make_code(
        "hard",
        **{
            "train.py": """
                import json, pathlib
                config = json.loads(
                    pathlib.Path("/opt/ml/input/config/hyperparameters.json").read_text()
                )
                names = sorted(p.name for p in pathlib.Path("/opt/ml/input/data/data").iterdir())
                pathlib.Path("/opt/ml/model/seen.json").write_text(json.dumps([config, names]))
            """
        },
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("1")
    outcome = run(
        [training_step(code, inputs={"input_path": str(data)}, hyperparameters=HYPERPARAMETERS)],
        install_requirements=False,
    )
    record = by_name(outcome)["train"]
    assert outcome.status == "Succeeded", record.failure_reason
    uri = record.properties["ModelArtifacts"]["S3ModelArtifacts"]
    config, names = json.loads(_members(storage, uri)["seen.json"])
    assert config["epochs"] == "3" and names == ["x.csv"]


def _decoded(value: str) -> Any:
    """A ``to_sagemaker()`` value as the JSON value it stands for (plain text stays text)."""
    try:
        return json.loads(value)
    except ValueError:
        return value
