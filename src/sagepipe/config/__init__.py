"""Validated configs: shared pipeline fields, one config per step type, hyperparameters."""

from sagepipe.config.base import BasePipelineConfig, ConfigModel
from sagepipe.config.data_loading import DataLoadingConfig
from sagepipe.config.endpoint import EndpointConfig
from sagepipe.config.hyperparameters import ModelHyperparameters
from sagepipe.config.messages import ConfigValidationError
from sagepipe.config.model import PyTorchModelConfig, PytorchModelCreationConfig
from sagepipe.config.packaging import PackagingConfig
from sagepipe.config.payload import PayloadConfig, SampleFile
from sagepipe.config.processing import ProcessingConfig, ProcessingInput, ProcessingOutput
from sagepipe.config.registration import RegistrationConfig
from sagepipe.config.tabular_preprocessing import TabularPreprocessingConfig
from sagepipe.config.training import MetricDefinition, PyTorchTrainingConfig, TrainingChannel
from sagepipe.config.transform import BatchTransformConfig

__all__ = [
    "BasePipelineConfig",
    "BatchTransformConfig",
    "ConfigModel",
    "ConfigValidationError",
    "DataLoadingConfig",
    "EndpointConfig",
    "MetricDefinition",
    "ModelHyperparameters",
    "PackagingConfig",
    "PayloadConfig",
    "ProcessingConfig",
    "ProcessingInput",
    "ProcessingOutput",
    "PyTorchModelConfig",
    "PyTorchTrainingConfig",
    "PytorchModelCreationConfig",
    "RegistrationConfig",
    "SampleFile",
    "TabularPreprocessingConfig",
    "TrainingChannel",
]
