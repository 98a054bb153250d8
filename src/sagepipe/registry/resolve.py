"""Resolving a model package ARN to the model it registers (``sagepipe serve ARN``)."""

from __future__ import annotations

import re

from sagepipe.registry.protocol import ModelRegistry

_ARN_START = re.compile(r"^arn:aws[a-z\-]*:sagemaker:")


def is_model_package_arn(text: str) -> bool:
    """Whether ``text`` is shaped like a SageMaker ARN (and so cannot be a path or URI)."""
    return bool(_ARN_START.match(text.strip())) and ":model-package/" in text


def resolve_model_package(arn: str, registry: ModelRegistry | None = None) -> str:
    """The model data URI (the packaged ``model.tar.gz``) of a model package version.

    Args:
        arn: ``arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION``.
        registry: Where it is registered; default the local registry
            (``<SAGEPIPE_HOME>/registry.db``).

    Raises:
        InvalidArnError: ``arn`` is not a model package ARN.
        ModelPackageNotFoundError: the registry has no such version.
    """
    if registry is None:
        from sagepipe.registry.local import LocalRegistry

        registry = LocalRegistry()
    package = registry.describe(arn)
    return package.inference_specification.containers[0].model_data_url
