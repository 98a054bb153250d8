"""The tabular example's two forms (config file and Python) describe the same pipeline."""

from __future__ import annotations

from pathlib import Path

from sagepipe.definitions.loading import load_pipeline

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
    # The IR never holds an absolute path of this machine.
    assert str(EXAMPLE) not in pipeline.to_json()
