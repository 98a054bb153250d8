"""Loading pipelines (config files and ``file.py:attribute``) and ready-made pipelines.

Sits between the backends and :mod:`sagepipe.steps`: it builds IR pipelines from files with
the default step builders; the backends and the CLI use it to turn a PIPELINE argument into a
:class:`~sagepipe.pipeline.Pipeline`.
"""

from sagepipe.definitions.config_file import pipeline_from_config_file
from sagepipe.definitions.errors import ModelPathError, PipelineFileError
from sagepipe.definitions.loading import load_pipeline
from sagepipe.definitions.registration import (
    BSMPytorchPipelineBuilder,
    ModelRegistrationPipeline,
)

__all__ = [
    "BSMPytorchPipelineBuilder",
    "ModelPathError",
    "ModelRegistrationPipeline",
    "PipelineFileError",
    "load_pipeline",
    "pipeline_from_config_file",
]
