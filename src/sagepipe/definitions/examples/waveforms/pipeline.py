"""The waveforms example pipeline in Python, with the seed API.

Builds the same pipeline as ``pipeline.yaml`` (the tests check that both give the same IR)::

    sagepipe run examples/waveforms/pipeline.py:build_pipeline
"""

from __future__ import annotations

from pathlib import Path

from sagepipe.config import (
    BatchTransformConfig,
    MetricDefinition,
    PackagingConfig,
    PayloadConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
    TrainingChannel,
)
from sagepipe.pipeline import (
    OutputOf,
    ParameterInteger,
    ParameterString,
    Pipeline,
    PipelineBuilderTemplate,
    PipelineDAG,
)
from sagepipe.steps import DEFAULT_STEP_BUILDERS

# This file, pipeline.yaml, code/ and samples/ ship inside the package (the repository's
# examples/waveforms links to them): paths are relative to where this file really is.
HERE = Path(__file__).resolve().parent
CODE = str(HERE / "code")
SHARED = {
    "pipeline_name": "waveforms-demo",
    "region": "us-east-1",
    "framework_version": "2.1.0",
    "py_version": "py310",
}


def build_pipeline() -> Pipeline:
    """Prepare, train, model, package, payload, register, transform and evaluate."""
    training_instance_type = ParameterString("TrainingInstanceType", "ml.m5.xlarge")
    epochs = ParameterInteger("Epochs", 8)

    config_map = {
        "prepare": ProcessingConfig(
            **SHARED,
            source_dir=CODE,
            processing_entry_point="prepare.py",
            processing_instance_type="ml.m5.large",
            arguments=[
                "--samples-per-class",
                "200",
                "--length",
                "64",
                "--seed",
                "0",
                "--output-dir",
                "/opt/ml/processing/output",
            ],
            outputs=[
                ProcessingOutput(name="train"),
                ProcessingOutput(name="validation"),
                ProcessingOutput(name="test"),
                ProcessingOutput(name="test_labels"),
            ],
        ),
        "train": PyTorchTrainingConfig(
            **SHARED,
            source_dir=CODE,
            training_entry_point="train.py",
            training_instance_type=training_instance_type,
            # Free-form: a plain mapping; each key reaches train.py as --key value.
            hyperparameters={
                "epochs": epochs,
                "batch-size": 32,
                "learning-rate": 0.01,
                "filters": 16,
                "seed": 0,
            },
            channels=[
                TrainingChannel(name="train", content_type="application/x-npy"),
                TrainingChannel(name="validation", content_type="application/x-npy"),
            ],
            metric_definitions=[
                MetricDefinition(Name="train_loss", Regex="train_loss=([0-9.]+)"),
                MetricDefinition(Name="validation_loss", Regex="validation_loss=([0-9.]+)"),
                MetricDefinition(Name="validation_accuracy", Regex="validation_accuracy=([0-9.]+)"),
            ],
        ),
        "model": PyTorchModelConfig(
            **SHARED, source_dir=CODE, inference_entry_point="inference.py"
        ),
        "packaging": PackagingConfig(
            **SHARED, source_dir=CODE, inference_entry_point="inference.py"
        ),
        "payload": PayloadConfig(**SHARED, samples=[str(HERE / "samples")]),
        "registration": RegistrationConfig(
            **SHARED,
            model_package_group_name="waveforms-demo",
            task="CLASSIFICATION",
            content_types=["application/json", "application/x-npy"],
            response_types=["application/json"],
            model_description=("Waveform shape classifier (sine, square, sawtooth), a 1-D CNN."),
        ),
        "transform": BatchTransformConfig(
            **SHARED,
            content_type="application/json",
            accept="application/json",
            split_type="Line",
            batch_strategy="SingleRecord",
            assemble_with="Line",
        ),
        "evaluate": ProcessingConfig(
            **SHARED,
            source_dir=CODE,
            processing_entry_point="evaluate.py",
            processing_instance_type="ml.m5.large",
            arguments=[
                "--input-dir",
                "/opt/ml/processing/input",
                "--output-dir",
                "/opt/ml/processing/output/evaluation",
            ],
            inputs=[ProcessingInput(name="predictions"), ProcessingInput(name="labels")],
            outputs=[ProcessingOutput(name="evaluation")],
        ),
    }

    dag = PipelineDAG()
    for node in config_map:
        dag.add_node(node)
    for upstream, downstream in [
        ("prepare", "train"),
        ("train", "model"),
        ("model", "packaging"),
        ("packaging", "payload"),
        ("packaging", "registration"),
        ("payload", "registration"),
        ("model", "transform"),
        ("prepare", "transform"),
        ("transform", "evaluate"),
        ("prepare", "evaluate"),
    ]:
        dag.add_edge(upstream, downstream)

    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "transform": {"input_data": OutputOf("prepare", "test")},
            "evaluate": {
                "predictions": OutputOf("transform", "transform_output"),
                "labels": OutputOf("prepare", "test_labels"),
            },
        },
        root=HERE,
    )
    return template.generate_pipeline("waveforms-demo")
