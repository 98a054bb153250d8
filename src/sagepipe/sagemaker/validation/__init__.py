"""Offline validation of compiled definitions against SageMaker's API model (botocore)."""

from sagepipe.sagemaker.validation.definition import validate_definition

__all__ = ["validate_definition"]
