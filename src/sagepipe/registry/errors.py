"""Errors of the model registry."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class RegistryError(SagepipeError):
    """A model registry operation failed or was asked something invalid."""


class InvalidArnError(RegistryError):
    """A string is not a model package (group) ARN."""


class ModelPackageNotFoundError(RegistryError):
    """No model package or model package group has the given name or ARN."""
