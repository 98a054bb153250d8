"""The tabular example's two forms (config file and Python) describe the same pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from sagepipe.definitions.examples_dir import example_dir
from sagepipe.definitions.loading import load_pipeline
from sagepipe.pipeline import Pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"


def test_config_file_and_python_forms_give_the_same_ir() -> None:
    from_yaml = load_pipeline(str(EXAMPLE / "pipeline.yaml"))
    from_python = load_pipeline(f"{EXAMPLE / 'pipeline.py'}:build_pipeline")
    assert from_yaml.to_json() == from_python.to_json()


def test_example_pipeline_wiring() -> None:
    pipeline = load_pipeline(str(EXAMPLE / "pipeline.yaml"))
    order = [step.name for step in pipeline.execution_order()]
    assert order[0] == "preprocess"
    assert set(order) == {
        "preprocess",
        "train",
        "model",
        "packaging",
        "payload",
        "registration",
        "transform",
        "evaluate",
    }
    train = pipeline.step("train")
    assert train.inputs["input_path"].value == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
    registration = pipeline.step("registration")
    assert registration.inputs["metrics"].value == {"Get": "Steps.train.FinalMetricDataList"}
    assert registration.inputs["payload_sample"].source == "resolved"
    transform = pipeline.step("transform")
    assert transform.inputs["model_name"].value == {"Get": "Steps.model.ModelName"}
    # In memory, local paths are absolute (resolved against the config file's directory); the
    # IR's JSON writes them relative to the pipeline root, never naming a directory of this
    # machine, and reading it back restores them.
    assert pipeline.step("preprocess").inputs["raw"].value == str(example_dir() / "data")
    text = pipeline.to_json()
    assert str(example_dir()) not in text and str(EXAMPLE) not in text
    steps = {s["name"]: s for s in json.loads(text)["steps"]}
    assert steps["preprocess"]["inputs"]["raw"]["value"] == "data"
    assert steps["preprocess"]["config"]["inputs"] == [
        {"destination": None, "name": "raw", "source": "data"}
    ]
    assert {s["code"]["source_dir"] for s in steps.values() if s.get("code")} == {"code"}
    again = Pipeline.from_json(text, pipeline.root)
    assert again.step("preprocess").inputs["raw"].value == str(example_dir() / "data")
    assert again.to_json() == text


def test_the_repository_example_is_the_shipped_one() -> None:
    # examples/tabular links to the files inside the package (one copy, nothing to drift):
    # a copy put in place of a link would be read by the tour while the demo reads the other.
    for name in ("pipeline.yaml", "pipeline.py", "code", "data"):
        assert (EXAMPLE / name).is_symlink(), name
        assert (EXAMPLE / name).resolve() == (example_dir() / name).resolve(), name
