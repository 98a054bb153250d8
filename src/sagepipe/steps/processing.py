"""Processing step: specification built from the config's inputs and outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sagepipe.config.processing import ProcessingConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef, Step

STEP_TYPE = "ProcessingStep"

# A processing input can read any data another step writes; names decide the wiring.
DATA_TYPES = (
    "processing_output",
    "model_artifacts",
    "packaged_model",
    "payload_samples",
    "transform_output",
    "training_output",
)


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
            dependencies=tuple(
                DependencySpec(logical_name=i.name, accepted_types=DATA_TYPES)
                for i in self.config.inputs
            ),
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

    def create_step(
        self,
        dependencies: Sequence[Step] = (),
        name: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        ancestors: Sequence[Step] = (),
        **named_inputs: Any,
    ) -> Step:
        # A source bound to a pipeline parameter stays the parameter (not its default).
        configured = {
            i.name: i.parameter_bindings.get("source", i.source)
            for i in self.config.inputs
            if i.source is not None
        }
        explicit = {**configured, **(inputs or {}), **named_inputs}
        return super().create_step(
            dependencies, name=name, inputs=explicit, cache=cache, ancestors=ancestors
        )
