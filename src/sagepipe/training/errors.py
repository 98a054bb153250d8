"""Errors of the training runtime."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class TrainingJobError(SagepipeError):
    """A training job cannot start: bad spec, missing source or channel, failed setup."""
