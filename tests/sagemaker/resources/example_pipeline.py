"""The example pipeline as a ``file.py:attribute`` spec for the CLI tests
(``tests/sagemaker/resources/example_pipeline.py:build``)."""

from __future__ import annotations

from pipelines import full_pipeline, training_pipeline  # type: ignore[import-not-found]

from sagepipe.pipeline import Pipeline


def build() -> Pipeline:
    pipeline: Pipeline = full_pipeline()
    return pipeline


def broken() -> Pipeline:
    """A training job on an instance type SageMaker does not have (the config's own check
    accepts it: the family exists)."""
    pipeline: Pipeline = training_pipeline(instance_type="ml.g5.huge")
    return pipeline
