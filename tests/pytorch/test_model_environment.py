"""One CreateModel container environment: PyTorchModel's local record, its SageMaker request
and the compiled model step are all written by sagemaker.model_environment."""

from __future__ import annotations

from pathlib import Path

from sagepipe.config import PyTorchModelConfig
from sagepipe.pipeline import Pipeline
from sagepipe.pytorch import PyTorchModel
from sagepipe.pytorch.sagemaker_endpoints import model_request
from sagepipe.sagemaker import compile_pipeline
from sagepipe.sagemaker.model_environment import model_environment
from sagepipe.steps import PyTorchModelStepBuilder

MODEL_DATA = "s3://bucket/train/output/model.tar.gz"


def test_pytorch_model_record_and_request_have_the_script_mode_environment(home: Path) -> None:
    model = PyTorchModel(
        model_data=MODEL_DATA,
        role="arn:aws:iam::123456789012:role/R",
        entry_point="serve.py",
        source_dir="s3://bucket/code/sourcedir.tar.gz",
        env={"TS_MAX_BATCH": "4", "SAGEMAKER_PROGRAM": "ignored.py"},
        region="eu-west-1",
        name="env-model",
    )

    record = model.create()
    request = model_request(model, "env-model", "ml.m5.large", "eu-west-1", MODEL_DATA)

    expected = {
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_REGION": "eu-west-1",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "TS_MAX_BATCH": "4",
    }
    assert record.environment == expected
    assert request["PrimaryContainer"]["Environment"] == expected


def test_a_model_without_code_gets_only_the_log_level_and_region() -> None:
    assert model_environment("us-west-2", None, {"A": "1"}) == {
        "A": "1",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-west-2",
    }


def test_the_compiled_model_step_uses_the_same_builder() -> None:
    config = PyTorchModelConfig(
        pipeline_name="env",
        region="eu-west-1",
        role="arn:aws:iam::123456789012:role/R",
        bucket="bucket",
        framework_version="2.1.0",
        py_version="py310",
        source_dir="s3://bucket/code/sourcedir.tar.gz",
        inference_entry_point="serve.py",
    )
    step = PyTorchModelStepBuilder(config).create_step(
        name="model", inputs={"model_data": MODEL_DATA}
    )

    compiled = compile_pipeline(Pipeline("env", [step]))

    steps = compiled.definition["Steps"]
    assert isinstance(steps, list)
    [model] = [s for s in steps if isinstance(s, dict) and s["Name"] == "model"]
    arguments = model["Arguments"]
    assert isinstance(arguments, dict) and isinstance(arguments["PrimaryContainer"], dict)
    environment = arguments["PrimaryContainer"]["Environment"]
    settings = dict(config.container_environment())
    assert environment == model_environment("eu-west-1", "serve.py", settings)
    assert isinstance(environment, dict) and environment["SAGEMAKER_REGION"] == "eu-west-1"
