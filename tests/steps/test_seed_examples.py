"""The usage examples of the seed documents (000 model step, 001 training step), with the
imports adapted to sagepipe, build pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    BatchTransformConfig,
    ModelHyperparameters,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PytorchModelCreationConfig,
    PyTorchTrainingConfig,
)
from sagepipe.pipeline import Pipeline, PipelineBuilderTemplate, PipelineDAG, Step
from sagepipe.steps import (
    BatchTransformStepBuilder,
    ProcessingStepBuilder,
    PytorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
)

CODE = str(Path(__file__).parent.parent / "resources" / "code")
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def preprocessing_step() -> Step:
    config = ProcessingConfig(
        processing_entry_point="preprocess.py",
        source_dir=CODE,
        inputs=[ProcessingInput(name="raw_data", source="s3://my-bucket/raw/")],
        outputs=[ProcessingOutput(name="processed_data")],
    )
    return ProcessingStepBuilder(config).create_step(name="preprocess")


def seed_hyperparameters() -> ModelHyperparameters:
    return ModelHyperparameters(
        id_name="customer_id",
        label_name="target",
        full_field_list=["customer_id", "target", "feature1", "feature2", "feature3"],
        tab_field_list=["feature1", "feature2"],
        cat_field_list=["feature3"],
        learning_rate=0.001,
        batch_size=64,
        epochs=10,
    )


def training_example(preprocessing: Step) -> Step:
    # Seed 001, "Usage Example".
    hyperparams = seed_hyperparameters()
    config = PyTorchTrainingConfig(
        training_instance_type="ml.g5.12xlarge",
        training_instance_count=1,
        training_volume_size=30,
        training_entry_point="train.py",
        source_dir="s3://my-bucket/scripts/",
        framework_version="1.13.1",
        py_version="py39",
        hyperparameters=hyperparams,
        env={
            "CA_REPOSITORY_ARN": (
                "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"
            )
        },
    )
    builder = PyTorchTrainingStepBuilder(config=config)
    return builder.create_step(
        # The step can extract inputs from dependencies automatically
        dependencies=[preprocessing]
    )


def model_example(training_step: Step) -> Step:
    # Seed 000, "Usage Example".
    config = PytorchModelCreationConfig(
        inference_instance_type="ml.m5.large",
        inference_entry_point="inference.py",
        source_dir="s3://my-bucket/inference-scripts/",
        framework_version="1.13.1",
        py_version="py39",
        container_memory_limit=8192,
        inference_memory_limit=6144,
        max_concurrent_invocations=5,
        max_payload_size=10,
    )
    builder = PytorchModelStepBuilder(config=config)
    return builder.create_step(
        model_data=training_step.properties.ModelArtifacts.S3ModelArtifacts,
        dependencies=[training_step],
    )


def test_step_builder_examples_build_a_pipeline() -> None:
    pipeline = Pipeline("seed-steps")
    preprocessing = preprocessing_step()
    pipeline.add_step(preprocessing)
    training_step = training_example(preprocessing)
    pipeline.add_step(training_step)
    model_step = model_example(training_step)
    pipeline.add_step(model_step)
    pipeline.validate()

    assert training_step.name == "PyTorchTraining"
    assert training_step.inputs["input_path"].source == "resolved"
    assert training_step.inputs["input_path"].reason.startswith("preprocess.processed_data")
    assert model_step.name == "PyTorchModel"
    assert model_step.inputs["model_data"].value == {
        "Get": "Steps.PyTorchTraining.ModelArtifacts.S3ModelArtifacts"
    }
    assert model_step.depends_on == ("PyTorchTraining",)
    assert model_step.config["container_environment"]["SAGEMAKER_MAX_PAYLOAD_IN_MB"] == "10"
    assert [s.name for s in pipeline.execution_order()] == [
        "preprocess",
        "PyTorchTraining",
        "PyTorchModel",
    ]
    assert training_step.config["hyperparameters"]["batch_size"] == 64
    assert training_step.code is not None
    assert training_step.code.source_dir == "s3://my-bucket/scripts/"


def template_configs() -> dict[str, object]:
    return {
        "data_load": ProcessingConfig(
            processing_entry_point="load.py",
            source_dir=CODE,
            outputs=[ProcessingOutput(name="raw_data")],
        ),
        "preprocess": ProcessingConfig(
            processing_entry_point="preprocess.py",
            source_dir=CODE,
            inputs=[ProcessingInput(name="raw_data")],
            outputs=[ProcessingOutput(name="processed_data")],
        ),
        "train": PyTorchTrainingConfig(
            source_dir=CODE,
            framework_version="1.13.1",
            py_version="py39",
            hyperparameters=seed_hyperparameters(),
        ),
        "model": PyTorchModelConfig(source_dir=CODE, framework_version="1.13.1", py_version="py39"),
        "transform": BatchTransformConfig(),
    }


@pytest.mark.parametrize("with_transform", [False, True], ids=["seed-001", "seed-000"])
def test_template_examples_build_pipelines(with_transform: bool) -> None:
    # "Usage with Pipeline Builder Template" of seeds 000 (with transform) and 001.
    dag = PipelineDAG()
    dag.add_node("data_load")
    dag.add_node("preprocess")
    dag.add_node("train")
    dag.add_node("model")
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    config_map = template_configs()
    if with_transform:
        dag.add_node("transform")
        dag.add_edge("model", "transform")
    else:
        del config_map["transform"]

    step_builder_map = {
        # The seed's CradleDataLoadStep and TabularPreprocessingStep are processing steps here.
        "ProcessingStep": ProcessingStepBuilder,
        "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
        "PytorchModelStep": PytorchModelStepBuilder,
        "BatchTransformStep": BatchTransformStepBuilder,
    }
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,  # type: ignore[arg-type]
        step_builder_map=step_builder_map,
        sagemaker_session=None,
        role=ROLE,
        # The transform's data does not come from the model step: give it.
        inputs={"transform": {"input_data": "s3://my-bucket/test/"}} if with_transform else None,
    )
    pipeline = template.generate_pipeline("my-pipeline")

    expected = ["data_load", "preprocess", "train", "model"]
    assert [s.name for s in pipeline.execution_order()] == (
        [*expected, "transform"] if with_transform else expected
    )
    assert pipeline.name == "my-pipeline"
    reasons = {(e.upstream, e.downstream): e.reason for e in pipeline.edges()}
    assert reasons[("data_load", "preprocess")].startswith("raw_data: data_load.raw_data")
    assert reasons[("preprocess", "train")].startswith("input_path: preprocess.processed_data")
    assert reasons[("train", "model")].startswith("model_data: train.model_artifacts")
    if with_transform:
        assert reasons[("model", "transform")].startswith("model_name: model.model_name")
    assert pipeline.to_json() == template.generate_pipeline("my-pipeline").to_json()
