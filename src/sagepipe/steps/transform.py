"""Batch transform step."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.transform import BatchTransformConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification
from sagepipe.steps.data_inputs import DATA_TYPES

STEP_TYPE = "BatchTransformStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Transform",
    dependencies=(
        DependencySpec(
            logical_name="model_name",
            accepted_types=("model_name",),
            description="The model to run (from a model step)",
        ),
        DependencySpec(
            logical_name="input_data",
            accepted_types=DATA_TYPES,
            aliases=("transform_input", "test_data"),
            # After a model step, the data comes from further up: the test rows a tabular
            # preprocessing step wrote before training (exact name, one step or an error).
            ancestor_outputs=("test_data",),
            description="Prefix whose objects are transformed",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="transform_output",
            output_type="transform_output",
            property_path="TransformOutput.S3OutputPath",
            description="Prefix holding one <input name>.out per input object",
        ),
    ),
)


class BatchTransformStepBuilder(StepBuilder):
    config_class: ClassVar[type[BatchTransformConfig]] = BatchTransformConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "BatchTransform"

    config: BatchTransformConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION
