"""The training step compiled: free-form hyperparameters as the SageMaker SDK encodes them
(a golden request), typed ones with only their set fields, named channels from outputs,
parameters, URIs and local paths; every definition validated against botocore's model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagepipe.config import (
    ModelHyperparameters,
    ProcessingConfig,
    ProcessingOutput,
    PyTorchTrainingConfig,
    TrainingChannel,
)
from sagepipe.pipeline import (
    OutputOf,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    PipelineBuilderTemplate,
    PipelineDAG,
)
from sagepipe.sagemaker import compile_pipeline
from sagepipe.steps import DEFAULT_STEP_BUILDERS

from .conftest import step_named
from .resources.pipelines import BUCKET, CODE, SHARED

EPOCHS = ParameterInteger("Epochs", 3)
LEARNING_RATE = ParameterFloat("LearningRate", 0.01)
OPTIMIZER = ParameterString("Optimizer", "adam")
VALIDATION = ParameterString("ValidationData", "s3://other-bucket/val/")


def compile_training(train: PyTorchTrainingConfig, **inputs: Any) -> dict[str, Any]:
    configs = {
        "prep": ProcessingConfig(
            **SHARED,
            source_dir=str(CODE),
            processing_entry_point="preprocess.py",
            outputs=[ProcessingOutput(name="train"), ProcessingOutput(name="other")],
        ),
        "train": train,
    }
    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=list(configs), edges=[("prep", "train")]),
        config_map=configs,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={"train": inputs} if inputs else {},
        parameters=[EPOCHS, LEARNING_RATE, OPTIMIZER, VALIDATION],
    )
    compiled = compile_pipeline(template.generate_pipeline("example"))  # botocore-validated
    arguments = step_named(compiled, "train")["Arguments"]
    assert isinstance(arguments, dict)
    return arguments


def training(**fields: Any) -> PyTorchTrainingConfig:
    return PyTorchTrainingConfig(
        **SHARED, source_dir=str(CODE), training_instance_type="ml.m5.xlarge", **fields
    )


def test_free_form_hyperparameters_golden_request() -> None:
    arguments = compile_training(
        training(
            hyperparameters={
                "lr": LEARNING_RATE,
                "epochs": EPOCHS,
                "optimizer": OPTIMIZER,
                "layers": [64, 32],
                "opts": {"beta": 0.9, "name": "x"},
                "use_amp": True,
                "dropout": 0.25,
                "tag": "v1",
                "nothing": None,
            },
            channels=[TrainingChannel(name="train")],
        )
    )
    hyperparameters = arguments["HyperParameters"]
    submit = hyperparameters.pop("sagemaker_submit_directory")
    assert submit.startswith(f'"s3://{BUCKET}/example/code/') and submit.endswith('.tar.gz"')
    # Each value json.dumps'd, as the SDK's estimator writes it; a String parameter as itself,
    # other parameters as a Std:Join of the one value (a string at execution time).
    assert hyperparameters == {
        "dropout": "0.25",
        "epochs": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Epochs"}]}},
        "layers": "[64, 32]",
        "lr": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.LearningRate"}]}},
        "nothing": "null",
        "optimizer": {"Get": "Parameters.Optimizer"},
        "opts": '{"beta": 0.9, "name": "x"}',
        "sagemaker_container_log_level": "20",
        "sagemaker_program": '"train.py"',
        "sagemaker_region": '"us-east-1"',
        "tag": '"v1"',
        "use_amp": "true",
    }


def test_typed_hyperparameters_pass_only_the_fields_set() -> None:
    typed = ModelHyperparameters(
        id_name="id", label_name="y", full_field_list=["id", "y", "x"], epochs=EPOCHS
    )
    arguments = compile_training(
        training(hyperparameters=typed), input_path=OutputOf("prep", "train")
    )
    user = {k: v for k, v in arguments["HyperParameters"].items() if not k.startswith("sagemaker_")}
    assert user == {
        "epochs": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Epochs"}]}},
        "full_field_list": '["id", "y", "x"]',
        "id_name": '"id"',
        "label_name": '"y"',
    }


def test_seed_layout_without_channels_keeps_the_data_channel() -> None:
    arguments = compile_training(training(), input_path=OutputOf("prep", "train"))
    [channel] = arguments["InputDataConfig"]
    assert channel["ChannelName"] == "data"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }


def test_channels_from_an_output_a_parameter_a_uri_and_a_local_path(tmp_path: Path) -> None:
    local = tmp_path / "extra"
    local.mkdir()
    (local / "rows.csv").write_text("a,1\n")
    arguments = compile_training(
        training(
            channels=[
                TrainingChannel(name="train", content_type="text/csv"),  # prep.train, by name
                TrainingChannel(name="validation", source=VALIDATION, input_mode="FastFile"),
                TrainingChannel(name="test", source="s3://other-bucket/test/"),
                TrainingChannel(name="extra", source=str(local), distribution="ShardedByS3Key"),
                TrainingChannel(name="more"),  # given explicitly below
            ]
        ),
        more=OutputOf("prep", "other"),
    )
    channels = arguments["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "validation", "test", "extra", "more"]
    sources = [c["DataSource"]["S3DataSource"] for c in channels]
    assert sources[0]["S3Uri"] == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    assert channels[0]["ContentType"] == "text/csv"
    assert sources[1]["S3Uri"] == {"Get": "Parameters.ValidationData"}
    assert channels[1]["InputMode"] == "FastFile"
    assert sources[2]["S3Uri"] == "s3://other-bucket/test/"
    assert sources[3]["S3Uri"].startswith(f"s3://{BUCKET}/example/data/")
    assert sources[3]["S3DataDistributionType"] == "ShardedByS3Key"
    assert sources[4]["S3Uri"] == {
        "Get": "Steps.prep.ProcessingOutputConfig.Outputs['other'].S3Output.S3Uri"
    }
    assert all("ContentType" not in c for c in channels[1:])
