"""The model registry protocol: what the local and SageMaker registries both do."""

from __future__ import annotations

from typing import Protocol

from sagepipe.registry.models import (
    ApprovalStatus,
    ModelPackage,
    ModelPackageGroup,
    ModelPackageInput,
    ModelPackageSummary,
)


class ModelRegistry(Protocol):
    """A model registry with SageMaker Model Registry semantics.

    Groups hold versions numbered 1, 2, 3...; each version has an approval status
    (``PendingManualApproval``, ``Approved``, ``Rejected``).
    """

    def create_group(self, name: str, region: str, description: str = "") -> ModelPackageGroup:
        """Create a model package group, or return it when it exists."""
        ...

    def describe_group(self, name: str, region: str) -> ModelPackageGroup:
        """The group ``name`` in ``region``; raises ModelPackageNotFoundError when absent."""
        ...

    def list_groups(self, region: str | None = None) -> list[ModelPackageGroup]:
        """Every group (of ``region`` when given), by name."""
        ...

    def register(self, request: ModelPackageInput) -> ModelPackage:
        """Register the next version of ``request.group`` (creating the group if needed)."""
        ...

    def list_versions(self, group: str, region: str | None = None) -> list[ModelPackageSummary]:
        """The versions of ``group``, oldest first."""
        ...

    def describe(self, arn: str) -> ModelPackage:
        """The model package version with this ARN."""
        ...

    def update_approval(
        self, arn: str, status: ApprovalStatus, *, reason: str = "", by: str | None = None
    ) -> ModelPackage:
        """Change the approval status of a version; the change is recorded with who and why."""
        ...
