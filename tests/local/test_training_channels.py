"""A script-mode project with strict argparse, free-form hyperparameters and ``train`` /
``validation`` channels runs unmodified in a pipeline (processing -> training), declared in
YAML and in Python, through ``sagepipe run`` (the real CLI, the real local engine)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sagepipe.definitions.loading import load_pipeline
from sagepipe.sagemaker import CompileOptions, compile_pipeline

PREP = """
    import os
    from pathlib import Path

    # Where the machine cannot give the step a private /opt/ml, sagepipe names its directory.
    opt_ml = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))
    out = opt_ml / "processing/output"
    rows = (opt_ml / "processing/input/raw/rows.csv").read_text().splitlines()
    for name, part in (("train", rows[:3]), ("val_split", rows[3:])):
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / "part.csv").write_text("\\n".join(part) + "\\n")
"""

# A plain script-mode training script: strict parse_args() over its own keys only.
TRAIN = """
    import argparse
    import ast
    import json
    import os
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--layers", type=ast.literal_eval, required=True)
    parser.add_argument("--optimizer", required=True)
    parser.add_argument("--opts", required=True)
    parser.add_argument("--use_amp", required=True)
    args = parser.parse_args()

    train = Path(os.environ["SM_CHANNEL_TRAIN"])
    validation = Path(os.environ["SM_CHANNEL_VALIDATION"])
    report = {
        "args": vars(args),
        "channels": json.loads(os.environ["SM_CHANNELS"]),
        "train_dir": str(train),
        "validation_dir": str(validation),
        "train": (train / "part.csv").read_text(),
        "validation": (validation / "part.csv").read_text(),
        "hps": json.loads(os.environ["SM_HPS"]),
        "content_types": {
            name: channel.get("ContentType")
            for name, channel in json.loads(os.environ["SM_INPUT_DATA_CONFIG"]).items()
        },
    }
    Path(os.environ["SM_MODEL_DIR"], "report.json").write_text(json.dumps(report))
"""

YAML = """
    shared:
      pipeline_name: generic-demo
      framework_version: "2.1.0"
      py_version: py310
    parameters:
      Epochs: {type: Integer, default: 3}
    configs:
      preprocess:
        config_type: ProcessingConfig
        source_dir: code
        processing_entry_point: prep.py
        processing_instance_type: ml.m5.large
        inputs:
          - {name: raw, source: data}
        outputs:
          - {name: train}
          - {name: val_split}
      train:
        config_type: PyTorchTrainingConfig
        source_dir: code
        training_entry_point: train.py
        training_instance_type: ml.m5.xlarge
        hyperparameters:            # free-form: no hyperparameters_type
          lr: 0.01
          epochs: {Get: Parameters.Epochs}
          layers: [64, 32]
          optimizer: adam
          opts: {beta: 0.9, eps: 1.0e-08}
          use_amp: true
        channels:
          - name: train             # wired from preprocess.train (same name)
            content_type: text/csv
          - name: validation        # given below
    pipeline:
      dag:
        edges: [[preprocess, train]]
      inputs:
        train:
          validation: {Output: preprocess.val_split}
"""

PYTHON = """
    from pathlib import Path

    from sagepipe.config import (
        ProcessingConfig,
        ProcessingInput,
        ProcessingOutput,
        PyTorchTrainingConfig,
        TrainingChannel,
    )
    from sagepipe.expressions import ParameterInteger
    from sagepipe.pipeline import OutputOf, PipelineBuilderTemplate, PipelineDAG
    from sagepipe.steps import DEFAULT_STEP_BUILDERS

    HERE = Path(__file__).parent
    SHARED = {"pipeline_name": "generic-demo", "framework_version": "2.1.0", "py_version": "py310"}


    def build():
        epochs = ParameterInteger("Epochs", 3)
        configs = {
            "preprocess": ProcessingConfig(
                **SHARED,
                source_dir=str(HERE / "code"),
                processing_entry_point="prep.py",
                processing_instance_type="ml.m5.large",
                inputs=[ProcessingInput(name="raw", source=str(HERE / "data"))],
                outputs=[ProcessingOutput(name="train"), ProcessingOutput(name="val_split")],
            ),
            "train": PyTorchTrainingConfig(
                **SHARED,
                source_dir=str(HERE / "code"),
                training_entry_point="train.py",
                training_instance_type="ml.m5.xlarge",
                hyperparameters={
                    "lr": 0.01,
                    "epochs": epochs,
                    "layers": [64, 32],
                    "optimizer": "adam",
                    "opts": {"beta": 0.9, "eps": 1e-08},
                    "use_amp": True,
                },
                channels=[
                    TrainingChannel(name="train", content_type="text/csv"),
                    TrainingChannel(name="validation"),
                ],
            ),
        }
        dag = PipelineDAG()
        dag.add_node("preprocess")
        dag.add_node("train")
        dag.add_edge("preprocess", "train")
        template = PipelineBuilderTemplate(
            dag=dag,
            config_map=configs,
            step_builder_map=DEFAULT_STEP_BUILDERS,
            inputs={"train": {"validation": OutputOf("preprocess", "val_split")}},
            parameters=[epochs],
            root=HERE,
        )
        return template.generate_pipeline("generic-demo")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for relative, text in {
        "code/prep.py": PREP,
        "code/train.py": TRAIN,
        "data/rows.csv": "a,1\nb,2\nc,3\nd,4\ne,5\n",
        "pipeline.yaml": YAML,
        "pipeline.py": PYTHON,
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def sagepipe(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=project,
        env=dict(os.environ, SAGEPIPE_HOME=str(project / "home"), SAGEPIPE_STORAGE="local"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(project: Path) -> dict[str, Any]:
    [archive] = (project / "home" / "objects").rglob("model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        member = tar.extractfile("report.json")
        assert member is not None
        loaded: dict[str, Any] = json.loads(member.read())
    return loaded


@pytest.mark.parametrize("spec", ["pipeline.yaml", "pipeline.py:build"])
def test_strict_argparse_script_gets_its_keys_and_both_channels(project: Path, spec: str) -> None:
    result = sagepipe(project, "run", spec, "--param", "Epochs=5", "--no-requirements")
    assert result.returncode == 0, result.stdout + result.stderr

    got = report(project)
    # The toolkit's rendering: JSON-decoded values, lists as their repr, dicts as k=v pairs.
    assert got["args"] == {
        "lr": 0.01,
        "epochs": 5,
        "layers": [64, 32],
        "optimizer": "adam",
        "opts": "beta=0.9,eps=1e-08",
        "use_amp": "True",
    }
    assert got["hps"] == {
        "lr": 0.01,
        "epochs": 5,
        "layers": [64, 32],
        "optimizer": "adam",
        "opts": {"beta": 0.9, "eps": 1e-08},
        "use_amp": True,
    }
    assert got["channels"] == ["train", "validation"]
    assert got["train_dir"].endswith("/input/data/train")
    assert got["validation_dir"].endswith("/input/data/validation")
    assert got["train"] == "a,1\nb,2\nc,3\n"
    assert got["validation"] == "d,4\ne,5\n"
    assert got["content_types"] == {"train": "text/csv", "validation": None}


def test_yaml_and_python_compile_to_the_same_definition(project: Path) -> None:
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    options = CompileOptions(role=role, bucket="my-bucket")  # validated against botocore
    yaml_form = compile_pipeline(load_pipeline(str(project / "pipeline.yaml")), options)
    python_form = compile_pipeline(load_pipeline(f"{project / 'pipeline.py'}:build"), options)
    assert yaml_form.to_json() == python_form.to_json()
    [training] = [s for s in json.loads(yaml_form.to_json())["Steps"] if s["Name"] == "train"]
    channels = training["Arguments"]["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "validation"]
    assert channels[0]["ContentType"] == "text/csv"
    uris = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels]
    assert uris == [
        {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
        {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['val_split'].S3Output.S3Uri"},
    ]
