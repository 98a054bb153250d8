"""Errors of the SageMaker-SDK-style API."""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class EstimatorError(SagepipeError):
    """An estimator or model was misconfigured, or its job could not run."""


class JobNotFoundError(EstimatorError):
    """No training job has this name."""


class TrainingFailedError(EstimatorError):
    """A training job ended in ``Failed`` (the SDK's ``UnexpectedStatusException``)."""
