"""PyTorch training step: specification, script contract and builder."""

from __future__ import annotations

from typing import Any, ClassVar

from sagepipe.config.training import PyTorchTrainingConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef
from sagepipe.steps.data_inputs import configured_sources, data_dependencies

STEP_TYPE = "PyTorchTrainingStep"
CHANNEL_ROOT = "/opt/ml/input/data"

OUTPUTS = (
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
)

# The seed's layout: no channels configured, one input_path mounted as the 'data' channel.
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
    outputs=OUTPUTS,
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
    """Builds a PyTorch training step.

    With ``channels`` in the config, each channel is an input of the same name: its configured
    ``source``, an explicit input, or a predecessor's output of exactly that name. Without, the
    one input ``input_path`` (the ``data`` channel) is taken from a preprocessing dependency's
    ``processed_data`` output when not given."""

    config_class: ClassVar[type[PyTorchTrainingConfig]] = PyTorchTrainingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "PyTorchTraining"
    code_fields: ClassVar[frozenset[str]] = frozenset({"source_dir", "training_entry_point"})

    config: PyTorchTrainingConfig

    def specification(self) -> StepSpecification:
        if not self.config.channels:
            return SPECIFICATION
        return StepSpecification(
            step_type=STEP_TYPE,
            kind="Training",
            dependencies=data_dependencies([c.name for c in self.config.channels]),
            outputs=OUTPUTS,
        )

    def contract(self) -> ScriptContract:
        entry_point = self.config.training_entry_point
        if not self.config.channels:
            return CONTRACT.model_copy(update={"entry_point": entry_point})
        names = [c.name for c in self.config.channels]
        return CONTRACT.model_copy(
            update={
                "entry_point": entry_point,
                "input_paths": {name: f"{CHANNEL_ROOT}/{name}" for name in names},
                "required_env_vars": (
                    "SM_MODEL_DIR",
                    "SM_CHANNELS",
                    *(f"SM_CHANNEL_{name.upper()}" for name in names),
                    "SM_OUTPUT_DATA_DIR",
                    "SM_HPS",
                ),
                "description": "Reads its channels; writes the model to SM_MODEL_DIR",
            }
        )

    def configured_inputs(self) -> dict[str, Any]:
        return configured_sources(self.config.channels)

    def code(self) -> CodeRef:
        return CodeRef(
            source_dir=self.config.source_dir, entry_point=self.config.training_entry_point
        )
