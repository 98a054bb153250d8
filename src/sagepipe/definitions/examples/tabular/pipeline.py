"""The tabular example pipeline in Python, with the seed API.

Builds the same pipeline as ``pipeline.yaml`` (the tests check that both give the same IR)::

    sagepipe run examples/tabular/pipeline.py:build_pipeline
"""

from __future__ import annotations

from pathlib import Path

from sagepipe.config import (
    BatchTransformConfig,
    ModelHyperparameters,
    PackagingConfig,
    PayloadConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
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

# This file, pipeline.yaml, code/ and data/ ship inside the package (the repository's
# examples/tabular links to them): paths are relative to where this file really is.
HERE = Path(__file__).resolve().parent
CODE = str(HERE / "code")
SHARED = {
    "pipeline_name": "tabular-demo",
    "region": "us-east-1",
    "framework_version": "2.1.0",
    "py_version": "py310",
}


def build_pipeline() -> Pipeline:
    """Preprocess, train, model, package, payload, register, transform and evaluate."""
    training_instance_type = ParameterString("TrainingInstanceType", "ml.m5.xlarge")
    epochs = ParameterInteger("Epochs", 12)

    hyperparameters = ModelHyperparameters(
        id_name="penguin_id",
        label_name="is_male",
        full_field_list=[
            "penguin_id",
            "species",
            "island",
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "year",
            "is_male",
        ],
        tab_field_list=[
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "year",
        ],
        cat_field_list=["species", "island"],
        learning_rate=0.01,
        batch_size=32,
        epochs=epochs,
        hidden_units=[32, 16],
        embedding_dim=4,
        dropout=0.2,
        weight_decay=0.001,
        seed=42,
    )
    config_map = {
        "preprocess": ProcessingConfig(
            **SHARED,
            source_dir=CODE,
            processing_entry_point="preprocess.py",
            processing_instance_type="ml.m5.large",
            arguments=["--seed", "42", "--val-fraction", "0.15", "--test-fraction", "0.15"],
            inputs=[ProcessingInput(name="raw", source=str(HERE / "data"))],
            outputs=[
                ProcessingOutput(name="processed_data"),
                ProcessingOutput(name="test_features"),
            ],
        ),
        "train": PyTorchTrainingConfig(
            **SHARED,
            source_dir=CODE,
            training_entry_point="train.py",
            training_instance_type=training_instance_type,
            hyperparameters=hyperparameters,
        ),
        "model": PyTorchModelConfig(
            **SHARED, source_dir=CODE, inference_entry_point="inference.py"
        ),
        "packaging": PackagingConfig(
            **SHARED, source_dir=CODE, inference_entry_point="inference.py"
        ),
        "payload": PayloadConfig(
            **SHARED, content_types=["text/csv", "application/json"], sample_count=2
        ),
        "registration": RegistrationConfig(
            **SHARED,
            model_package_group_name="tabular-demo",
            task="CLASSIFICATION",
            content_types=["text/csv", "application/json"],
            response_types=["application/json", "text/csv"],
            model_description="Palmer penguins sex classifier (embeddings + MLP).",
        ),
        "transform": BatchTransformConfig(
            **SHARED,
            content_type="text/csv",
            accept="text/csv",
            split_type="Line",
            batch_strategy="MultiRecord",
            assemble_with="Line",
        ),
        "evaluate": ProcessingConfig(
            **SHARED,
            source_dir=CODE,
            processing_entry_point="evaluate.py",
            processing_instance_type="ml.m5.large",
            arguments=["--id-name", "penguin_id", "--label-name", "is_male"],
            inputs=[ProcessingInput(name="predictions"), ProcessingInput(name="test")],
            outputs=[ProcessingOutput(name="evaluation")],
        ),
    }

    dag = PipelineDAG()
    for node in config_map:
        dag.add_node(node)
    for upstream, downstream in [
        ("preprocess", "train"),
        ("train", "model"),
        ("model", "packaging"),
        ("packaging", "payload"),
        ("packaging", "registration"),
        ("payload", "registration"),
        ("train", "registration"),
        ("model", "transform"),
        ("preprocess", "transform"),
        ("transform", "evaluate"),
        ("preprocess", "evaluate"),
    ]:
        dag.add_edge(upstream, downstream)

    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "transform": {"input_data": OutputOf("preprocess", "test_features")},
            "evaluate": {
                "predictions": OutputOf("transform", "transform_output"),
                "test": OutputOf("preprocess", "processed_data"),
            },
        },
        root=HERE,
    )
    return template.generate_pipeline("tabular-demo")
