"""PyTorch model step: specification and builder."""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.model import PyTorchModelConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification
from sagepipe.pipeline.step import CodeRef

STEP_TYPE = "PyTorchModelStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Model",
    dependencies=(
        DependencySpec(
            logical_name="model_data",
            accepted_types=("model_artifacts",),
            aliases=("model_artifacts", "model_input"),
            description="model.tar.gz to serve",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="model_name",
            output_type="model_name",
            property_path="ModelName",
            description="Name of the created SageMaker model",
        ),
        OutputSpec(
            logical_name="model_artifacts",
            output_type="model_artifacts",
            property_path="PrimaryContainer.ModelDataUrl",
            aliases=("model_data", "model_input", "model_artifacts_path"),
            description="The model data the model was created from",
        ),
    ),
)


class PyTorchModelStepBuilder(StepBuilder):
    """Builds a model step; ``model_data`` comes from a training step when not given."""

    config_class: ClassVar[type[PyTorchModelConfig]] = PyTorchModelConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "PyTorchModel"
    code_fields: ClassVar[frozenset[str]] = frozenset({"source_dir", "inference_entry_point"})

    config: PyTorchModelConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def code(self) -> CodeRef:
        return CodeRef(
            source_dir=self.config.source_dir, entry_point=self.config.inference_entry_point
        )

    def config_json(self) -> dict[str, object]:
        data = super().config_json()
        # Backends need the container environment; it is a function of the config.
        data["container_environment"] = dict(self.config.container_environment())
        return data


# The seed documents' spelling.
PytorchModelStepBuilder = PyTorchModelStepBuilder
