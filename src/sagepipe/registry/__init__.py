"""The model registry: a protocol, a local SQLite registry and a SageMaker backend.

Example:
    >>> registry = LocalRegistry()          # <SAGEPIPE_HOME>/registry.db
    >>> package = register_model_version(
    ...     registry, group="my-models", region="us-east-1",
    ...     model_data_uri="s3://bucket/model.tar.gz", image_uri=image_uri,
    ... )
    >>> registry.update_approval(package.model_package_arn, "Approved", reason="looks good")
"""

from sagepipe.registry.arn import group_arn, package_arn, parse_package_arn
from sagepipe.registry.errors import InvalidArnError, ModelPackageNotFoundError, RegistryError
from sagepipe.registry.local import LocalRegistry, default_registry_path
from sagepipe.registry.models import (
    APPROVAL_STATUSES,
    ApprovalEvent,
    ApprovalStatus,
    InferenceSpecification,
    ModelPackage,
    ModelPackageGroup,
    ModelPackageInput,
    ModelPackageSummary,
)
from sagepipe.registry.protocol import ModelRegistry
from sagepipe.registry.register import normalise_metrics, register_model_version
from sagepipe.registry.resolve import is_model_package_arn, resolve_model_package
from sagepipe.registry.sagemaker import SageMakerRegistry

__all__ = [
    "APPROVAL_STATUSES",
    "ApprovalEvent",
    "ApprovalStatus",
    "InferenceSpecification",
    "InvalidArnError",
    "LocalRegistry",
    "ModelPackage",
    "ModelPackageGroup",
    "ModelPackageInput",
    "ModelPackageNotFoundError",
    "ModelPackageSummary",
    "ModelRegistry",
    "RegistryError",
    "SageMakerRegistry",
    "default_registry_path",
    "group_arn",
    "is_model_package_arn",
    "normalise_metrics",
    "package_arn",
    "parse_package_arn",
    "register_model_version",
    "resolve_model_package",
]
