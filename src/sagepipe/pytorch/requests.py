"""The CreateTrainingJob request of a ``PyTorch`` estimator, for SageMaker and for the local
mode alike: built with the compiler's builder, :mod:`sagepipe.sagemaker.training_request`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.pytorch.estimator import PyTorch
    from sagepipe.pytorch.inputs import TrainingInput

VOLUME_SIZE_GB = 30  # the SDK's default volume_size


def estimator_request(
    estimator: PyTorch,
    job_name: str,
    channels: dict[str, TrainingInput],
    *,
    region: str,
    submit_directory: str,
    image: str,
    output_path: str,
) -> dict[str, Any]:
    """The request of ``estimator.fit(channels, job_name=job_name)``.

    Args:
        estimator: The estimator.
        job_name: ``TrainingJobName``.
        channels: ``InputDataConfig`` by channel name.
        region: ``sagemaker_region``.
        submit_directory: The code's ``sourcedir.tar.gz`` (``s3://``) or, locally, a
            ``file://`` URI of the code.
        image: ``AlgorithmSpecification.TrainingImage``.
        output_path: ``OutputDataConfig.S3OutputPath``.
    """
    from sagepipe.sagemaker.training_request import (
        create_training_job_request,
        training_hyperparameters,
    )

    instance_type = str(estimator.instance_type or "local")
    hyperparameters = training_hyperparameters(
        estimator.hyperparameters,
        entry_point=estimator.entry_point,
        submit_directory=submit_directory,
        region=region,
        distribution=estimator.distribution_strategy,
        instance_type=instance_type,
        job_name=job_name,
    )
    return create_training_job_request(
        image=image,
        hyperparameters=hyperparameters,
        output_path=output_path,
        instance_type=instance_type,
        instance_count=estimator.instance_count,
        volume_size=VOLUME_SIZE_GB,
        max_runtime_seconds=estimator.max_run,
        role=estimator.role,
        channels=[c.channel(name) for name, c in channels.items()],
        metric_definitions=estimator.metric_definitions,
        environment=estimator.environment,
        checkpoint_s3_uri=estimator.checkpoint_s3_uri,
        job_name=job_name,
    )
