"""Errors of local endpoints."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class EndpointError(SagepipeError):
    """A local endpoint could not be created, found or stopped."""


class EndpointNotFoundError(EndpointError):
    """No local endpoint has this name."""
