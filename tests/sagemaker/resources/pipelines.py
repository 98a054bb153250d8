"""Pipelines the SageMaker tests compile, built with the Python API (no config files)."""

from __future__ import annotations

from pathlib import Path

from sagepipe.config import (
    BatchTransformConfig,
    EndpointConfig,
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
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    Pipeline,
    PipelineBuilderTemplate,
    PipelineDAG,
)
from sagepipe.steps import DEFAULT_STEP_BUILDERS

RESOURCES = Path(__file__).parent
CODE = RESOURCES / "code"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "sagepipe-test-bucket"

SHARED = {
    "pipeline_name": "example",
    "region": "us-east-1",
    "role": ROLE,
    "bucket": BUCKET,
    "framework_version": "2.1.0",
    "py_version": "py310",
}

HYPERPARAMETERS = {
    "id_name": "id",
    "label_name": "label",
    "full_field_list": ["id", "label", "x1", "x2", "city"],
    "tab_field_list": ["x1", "x2"],
    "cat_field_list": ["city"],
    "epochs": 3,
}


FIVE_STEPS = ("preprocess", "train", "model", "transform", "endpoint")


def full_pipeline(
    code: Path = CODE,
    only: tuple[str, ...] | None = None,
    images: dict[str, str] | None = None,
    **shared: object,
) -> Pipeline:
    """Every step type: preprocess -> train -> model -> packaging -> payload -> registration,
    with a batch transform and an endpoint off the model (``only``: a subset of the steps;
    ``images``: ``image_uri`` of the named steps)."""
    base = {**SHARED, **shared}
    input_data = ParameterString("InputData", "s3://sagepipe-test-bucket/raw/")
    train_instance = ParameterString("TrainInstanceType", "ml.m5.xlarge")
    learning_rate = ParameterFloat("LearningRate", 0.01)
    train_count = ParameterInteger("TrainInstanceCount", 1)
    configs = {
        "preprocess": ProcessingConfig(
            **base,
            processing_entry_point="preprocess.py",
            source_dir=str(code),
            arguments=["--split", "0.8"],
            inputs=[ProcessingInput(name="raw_data")],
            outputs=[ProcessingOutput(name="processed_data")],
            env={"LOG_LEVEL": "INFO"},
        ),
        "train": PyTorchTrainingConfig(
            **base,
            source_dir=str(code),
            training_instance_type=train_instance,
            training_instance_count=train_count,
            hyperparameters=ModelHyperparameters(**HYPERPARAMETERS, learning_rate=learning_rate),
        ),
        "model": PyTorchModelConfig(**base, source_dir=str(code)),
        "packaging": PackagingConfig(**base, source_dir=str(code)),
        "payload": PayloadConfig(**base),
        "registration": RegistrationConfig(
            **base,
            model_package_group_name="example-models",
            customer_metadata={"team": "ml"},
            model_description="Example classifier",
        ),
        "transform": BatchTransformConfig(**base, join_source="Input", accept="text/csv"),
        "endpoint": EndpointConfig(**base, endpoint_name="example-endpoint"),
    }
    for name, image in (images or {}).items():
        configs[name] = configs[name].model_copy(update={"image_uri": image})
    keep = set(only or configs)
    configs = {name: config for name, config in configs.items() if name in keep}
    dag = PipelineDAG(
        nodes=list(configs),
        edges=[
            edge
            for edge in [
                ("preprocess", "train"),
                ("train", "model"),
                ("model", "packaging"),
                ("packaging", "payload"),
                ("packaging", "registration"),
                ("payload", "registration"),
                ("model", "transform"),
                ("preprocess", "transform"),
                ("model", "endpoint"),
            ]
            if set(edge) <= keep
        ],
    )
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=configs,
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "preprocess": {"raw_data": input_data},
            "transform": {"input_data": OutputOf("preprocess", "processed_data")},
        },
        root=RESOURCES,
    )
    return template.generate_pipeline("example")


def training_pipeline(
    distribution: str | None = None,
    instance_type: object = "ml.g5.12xlarge",
    code: Path = CODE,
    **fields: object,
) -> Pipeline:
    """One training step reading an S3 prefix (distributed variants use GPU instances)."""
    from sagepipe.steps import PyTorchTrainingStepBuilder

    config = PyTorchTrainingConfig(
        **{**SHARED, **fields},
        source_dir=str(code),
        training_instance_type=instance_type,
        distribution=distribution,
        hyperparameters=ModelHyperparameters(**HYPERPARAMETERS),
    )
    step = PyTorchTrainingStepBuilder(config).create_step(
        name="train", inputs={"input_path": "s3://sagepipe-test-bucket/data/"}
    )
    return Pipeline("training", [step], root=RESOURCES)
