"""One compiler per IR step type: ``(context, step) -> [CompiledStep]``."""

from __future__ import annotations

from collections.abc import Callable

from sagepipe.pipeline import Step
from sagepipe.sagemaker.context import CompileContext
from sagepipe.sagemaker.steps.common import CompiledStep
from sagepipe.sagemaker.steps.data import compile_data_loading, compile_tabular_preprocessing
from sagepipe.sagemaker.steps.endpoint import compile_endpoint
from sagepipe.sagemaker.steps.model import compile_model, compile_registration
from sagepipe.sagemaker.steps.processing import (
    compile_packaging,
    compile_payload,
    compile_processing,
)
from sagepipe.sagemaker.steps.training import compile_training
from sagepipe.sagemaker.steps.transform import compile_transform

StepCompiler = Callable[[CompileContext, Step], list[CompiledStep]]

#: The compiler of each IR step type.
STEP_COMPILERS: dict[str, StepCompiler] = {
    "ProcessingStep": compile_processing,
    "PyTorchTrainingStep": compile_training,
    "PyTorchModelStep": compile_model,
    "PackagingStep": compile_packaging,
    "PayloadStep": compile_payload,
    "RegistrationStep": compile_registration,
    "BatchTransformStep": compile_transform,
    "EndpointStep": compile_endpoint,
    "DataLoadingStep": compile_data_loading,
    "TabularPreprocessingStep": compile_tabular_preprocessing,
}

__all__ = ["STEP_COMPILERS", "CompiledStep", "StepCompiler"]
