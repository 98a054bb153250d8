"""Processing step: specification built from the config's inputs and outputs."""

from __future__ import annotations

from typing import Any, ClassVar

from sagepipe.config.processing import ProcessingConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef
from sagepipe.steps.data_inputs import configured_sources, data_dependencies

STEP_TYPE = "ProcessingStep"


def processing_output_path(name: str) -> str:
    return f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"


class ProcessingStepBuilder(StepBuilder):
    """Builds a processing step. Inputs with a ``source`` in the config are explicit; the
    others are wired from predecessors' outputs of the same name."""

    config_class: ClassVar[type[ProcessingConfig]] = ProcessingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "Processing"
    code_fields: ClassVar[frozenset[str]] = frozenset({"source_dir", "processing_entry_point"})

    config: ProcessingConfig

    def specification(self) -> StepSpecification:
        return StepSpecification(
            step_type=STEP_TYPE,
            kind="Processing",
            dependencies=data_dependencies([i.name for i in self.config.inputs]),
            outputs=tuple(
                OutputSpec(
                    logical_name=o.name,
                    output_type=o.output_type,
                    property_path=processing_output_path(o.name),
                )
                for o in self.config.outputs
            ),
        )

    def contract(self) -> ScriptContract:
        return ScriptContract(
            entry_point=self.config.processing_entry_point,
            input_paths={i.name: i.container_path for i in self.config.inputs},
            output_paths={o.name: o.container_path for o in self.config.outputs},
            arguments={arg: "passed through" for arg in self.config.arguments},
        )

    def code(self) -> CodeRef:
        return CodeRef(
            source_dir=self.config.source_dir, entry_point=self.config.processing_entry_point
        )

    def configured_inputs(self) -> dict[str, Any]:
        return configured_sources(self.config.inputs)
