"""The SageMaker backend: compile the IR to a pipeline definition, validate it offline, and
submit, start and follow it with boto3.

Only the standard library and light sagepipe modules are imported here; boto3 and botocore
are imported by the functions that use them.
"""

from sagepipe.sagemaker.compiler import CompiledPipeline, compile_pipeline
from sagepipe.sagemaker.errors import (
    AwsError,
    CompileError,
    CredentialsError,
    DefinitionValidationError,
    ImageNotFoundError,
    SubmitError,
)
from sagepipe.sagemaker.target import CompileOptions, Target

__all__ = [
    "AwsError",
    "CompileError",
    "CompileOptions",
    "CompiledPipeline",
    "CredentialsError",
    "DefinitionValidationError",
    "ImageNotFoundError",
    "SubmitError",
    "Target",
    "compile_pipeline",
]
