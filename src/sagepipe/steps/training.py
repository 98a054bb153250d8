"""PyTorch training step: specification, script contract and builder."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.training import PyTorchTrainingConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef

STEP_TYPE = "PyTorchTrainingStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Training",
    dependencies=(
        DependencySpec(
            logical_name="input_path",
            accepted_types=("processing_output", "training_data"),
            aliases=("data", "processed_data", "training_data"),
            description="Directory with train/, val/ and test/; mounted as the 'data' channel",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="model_artifacts",
            output_type="model_artifacts",
            property_path="ModelArtifacts.S3ModelArtifacts",
            aliases=("model_data", "model_input"),
            description="model.tar.gz with the contents of /opt/ml/model",
        ),
        OutputSpec(
            logical_name="output_path",
            output_type="training_output",
            property_path="OutputDataConfig.S3OutputPath",
            description="Prefix holding the job's model.tar.gz and output.tar.gz",
        ),
        OutputSpec(
            logical_name="metrics",
            output_type="metrics",
            property_path="FinalMetricDataList",
            description="Final value of each metric definition",
        ),
    ),
)

CONTRACT = ScriptContract(
    entry_point="train.py",
    input_paths={"input_path": "/opt/ml/input/data/data"},
    output_paths={"model_artifacts": "/opt/ml/model", "output_data": "/opt/ml/output/data"},
    required_env_vars=("SM_MODEL_DIR", "SM_CHANNEL_DATA", "SM_OUTPUT_DATA_DIR", "SM_HPS"),
    arguments={"--<hyperparameter> <value>": "one pair per hyperparameter"},
    description="Reads data/train, data/val, data/test; writes the model to SM_MODEL_DIR",
)


class PyTorchTrainingStepBuilder(StepBuilder):
    """Builds a PyTorch training step; its ``input_path`` (the ``data`` channel) is taken from
    a preprocessing dependency's ``processed_data`` output when not given."""

    config_class: ClassVar[type[PyTorchTrainingConfig]] = PyTorchTrainingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "PyTorchTraining"
    code_fields: ClassVar[frozenset[str]] = frozenset({"source_dir", "training_entry_point"})

    config: PyTorchTrainingConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def contract(self) -> ScriptContract:
        return CONTRACT.model_copy(update={"entry_point": self.config.training_entry_point})

    def code(self) -> CodeRef:
        return CodeRef(
            source_dir=self.config.source_dir, entry_point=self.config.training_entry_point
        )
