"""Packaging step: adds the inference code to a model archive."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.packaging import PackagingConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef
from sagepipe.steps.processing import processing_output_path

STEP_TYPE = "PackagingStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Processing",
    dependencies=(
        DependencySpec(
            logical_name="model_input",
            accepted_types=("model_artifacts",),
            aliases=("model_data", "model_artifacts", "model_artifacts_path"),
            description="model.tar.gz to add code/ to",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="packaged_model",
            output_type="packaged_model",
            property_path=processing_output_path("packaged_model"),
            aliases=("packaged_model_output",),
            description="model.tar.gz with the model files and code/",
        ),
    ),
)

CONTRACT = ScriptContract(
    entry_point="sagepipe.artifacts.package (built in)",
    input_paths={
        "model_input": "/opt/ml/processing/input/model",
        "code": "/opt/ml/processing/input/code",
    },
    output_paths={"packaged_model": "/opt/ml/processing/output/packaged_model"},
    description="Streams the model archive into a new one and adds code/",
)


class PackagingStepBuilder(StepBuilder):
    config_class: ClassVar[type[PackagingConfig]] = PackagingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "Packaging"
    code_fields: ClassVar[frozenset[str]] = frozenset(
        {"source_dir", "inference_entry_point", "dependencies"}
    )

    config: PackagingConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def contract(self) -> ScriptContract:
        return CONTRACT

    def code(self) -> CodeRef:
        return CodeRef(
            source_dir=self.config.source_dir,
            entry_point=self.config.inference_entry_point,
            dependencies=tuple(self.config.dependencies),
        )
