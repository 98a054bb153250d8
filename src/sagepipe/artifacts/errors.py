"""Errors of model archive handling (layout, packaging, payloads)."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class ArtifactError(SagepipeError):
    """Base of the errors about model archives and their companions."""


class ArchiveFormatError(ArtifactError):
    """A file is not a readable (gzipped) tar archive, is truncated, or uses an unsupported
    member type."""


class ArchiveLayoutError(ArtifactError):
    """A model archive is not laid out as SageMaker expects (model files at the top level,
    inference code under ``code/``)."""


class PackagingError(ArtifactError):
    """The inputs of packaging (source dir, entry point, dependencies, output) are wrong."""


class PayloadError(ArtifactError):
    """Sample payloads cannot be generated from the given field lists and settings."""
