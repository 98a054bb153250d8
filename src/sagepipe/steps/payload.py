"""Payload step: sample requests generated from the model's field lists."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.payload import PayloadConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.steps.processing import processing_output_path

STEP_TYPE = "PayloadStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Processing",
    dependencies=(
        DependencySpec(
            logical_name="model_input",
            accepted_types=("model_artifacts", "packaged_model"),
            aliases=("model_data", "model_artifacts", "packaged_model"),
            description="Model archive whose hyperparameters.json lists the fields",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="payload_sample",
            output_type="payload_samples",
            property_path=processing_output_path("payload_sample"),
            aliases=("payload_samples",),
            description="payload.tar.gz with one sample file per content type, and a manifest",
        ),
    ),
)

CONTRACT = ScriptContract(
    entry_point="sagepipe.artifacts.payload (built in)",
    input_paths={"model_input": "/opt/ml/processing/input/model"},
    output_paths={"payload_sample": "/opt/ml/processing/output/payload_sample"},
    description="Writes sample payloads for each configured content type",
)


class PayloadStepBuilder(StepBuilder):
    config_class: ClassVar[type[PayloadConfig]] = PayloadConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "Payload"

    config: PayloadConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def contract(self) -> ScriptContract:
        return CONTRACT
