"""One module per step type: its builder, specification and script contract."""

from sagepipe.pipeline.builder import StepBuilder
from sagepipe.steps.data_loading import DataLoadingStepBuilder
from sagepipe.steps.endpoint import EndpointStepBuilder
from sagepipe.steps.model import PyTorchModelStepBuilder, PytorchModelStepBuilder
from sagepipe.steps.packaging import PackagingStepBuilder
from sagepipe.steps.payload import PayloadStepBuilder
from sagepipe.steps.processing import ProcessingStepBuilder
from sagepipe.steps.registration import RegistrationStepBuilder
from sagepipe.steps.tabular_preprocessing import TabularPreprocessingStepBuilder
from sagepipe.steps.training import PyTorchTrainingStepBuilder
from sagepipe.steps.transform import BatchTransformStepBuilder

#: The builder of every step type, keyed as in ``PipelineBuilderTemplate(step_builder_map=...)``.
DEFAULT_STEP_BUILDERS: dict[str, type[StepBuilder]] = {
    builder.step_type: builder
    for builder in (
        ProcessingStepBuilder,
        PyTorchTrainingStepBuilder,
        PyTorchModelStepBuilder,
        PackagingStepBuilder,
        PayloadStepBuilder,
        RegistrationStepBuilder,
        BatchTransformStepBuilder,
        EndpointStepBuilder,
        DataLoadingStepBuilder,
        TabularPreprocessingStepBuilder,
    )
}

__all__ = [
    "DEFAULT_STEP_BUILDERS",
    "BatchTransformStepBuilder",
    "DataLoadingStepBuilder",
    "EndpointStepBuilder",
    "PackagingStepBuilder",
    "PayloadStepBuilder",
    "ProcessingStepBuilder",
    "PyTorchModelStepBuilder",
    "PyTorchTrainingStepBuilder",
    "PytorchModelStepBuilder",
    "RegistrationStepBuilder",
    "TabularPreprocessingStepBuilder",
]
