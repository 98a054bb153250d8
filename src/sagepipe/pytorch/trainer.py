"""``ModelTrainer``: the SageMaker SDK's newer training API (``sagemaker.modules.train``).

``SourceCode``, ``Compute``, ``InputData`` and ``Torchrun`` are its configuration classes;
``ModelTrainer.train()`` maps them onto the same runtime as :class:`~sagepipe.pytorch.PyTorch`
(local for ``local``/``local_cpu`` instance types, else a SageMaker training job).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sagepipe.pytorch.errors import EstimatorError
from sagepipe.pytorch.estimator import DEFAULT_MAX_RUN, PyTorch
from sagepipe.pytorch.inputs import TrainingInput


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceCode(_Config):
    """The code of the job.

    Attributes:
        source_dir: Local directory of the code.
        entry_script: The script, relative to ``source_dir``.
        requirements: ``requirements.txt`` in ``source_dir`` (installed before the job).
    """

    source_dir: str
    entry_script: str
    requirements: str | None = None


class Compute(_Config):
    """Where the job runs.

    Attributes:
        instance_type: ``local``/``local_cpu`` (this machine) or an ``ml.*`` type.
        instance_count: Hosts (simulated ``algo-1..N`` locally).
        volume_size_in_gb: SageMaker's storage volume size.
    """

    instance_type: str = "local"
    instance_count: int = Field(default=1, ge=1)
    volume_size_in_gb: int = 30


class InputData(_Config):
    """One channel: found in the job at ``SM_CHANNEL_<CHANNEL_NAME>``.

    Attributes:
        channel_name: The channel's name.
        data_source: ``s3://`` prefix, ``file://`` URI or local path.
    """

    channel_name: str
    data_source: str


class Torchrun(_Config):
    """Launch the script with torchrun.

    Attributes:
        process_count_per_node: Processes per host (default: GPUs, or 1 without).
    """

    process_count_per_node: int | None = Field(default=None, ge=1)


class StoppingCondition(_Config):
    """Attributes:
    max_runtime_in_seconds: Stop the job after this long."""

    max_runtime_in_seconds: int = DEFAULT_MAX_RUN


class OutputDataConfig(_Config):
    """Attributes:
    s3_output_path: Where ``<job>/output/model.tar.gz`` goes."""

    s3_output_path: str


class ModelTrainer:
    """Train with the SDK's ``ModelTrainer`` arguments.

    Args:
        source_code: The code and entry script.
        compute: Instance type and count (default: one local host).
        hyperparameters: Passed to the script as ``--name value``.
        distributed: ``Torchrun()`` for distributed training.
        base_job_name: Prefix of job names.
        role: IAM role ARN (SageMaker only).
        environment: Extra environment variables of the job.
        training_image: The training image (the SDK's name for an estimator's
            ``image_uri``), used instead of the SDK's PyTorch image of ``framework_version``/
            ``py_version``: in the SageMaker request as given; locally it must be a PyTorch
            training image the SDK knows, or the job is refused naming it.
        output_data_config: Where the model goes.
        stopping_condition: The job's time limit.
        checkpoint_s3_uri: Synced with ``/opt/ml/checkpoints``.
        input_data_config: Default channels of ``train()``.
        sagemaker_session: A ``boto3.Session`` for SageMaker jobs.
        framework_version: PyTorch version of the SageMaker image (SageMaker only; not
            needed with ``training_image``).
        py_version: Python version of the SageMaker image (SageMaker only; not needed with
            ``training_image``).
    """

    def __init__(
        self,
        source_code: SourceCode,
        compute: Compute | None = None,
        hyperparameters: dict[str, Any] | None = None,
        distributed: Torchrun | None = None,
        base_job_name: str | None = None,
        role: str | None = None,
        environment: dict[str, str] | None = None,
        training_image: str | None = None,
        output_data_config: OutputDataConfig | None = None,
        stopping_condition: StoppingCondition | None = None,
        checkpoint_s3_uri: str | None = None,
        input_data_config: list[InputData] | None = None,
        sagemaker_session: Any = None,
        framework_version: str | None = None,
        py_version: str | None = None,
    ) -> None:
        if source_code.requirements not in (None, "requirements.txt"):
            raise EstimatorError(
                f"SourceCode.requirements={source_code.requirements!r}: the runtime installs "
                "requirements.txt at the root of source_dir; rename the file to that"
            )
        compute = compute or Compute()
        self.training_image = training_image
        self.input_data_config = list(input_data_config or [])
        self.estimator = PyTorch(
            entry_point=source_code.entry_script,
            source_dir=source_code.source_dir,
            role=role,
            instance_type=compute.instance_type,
            instance_count=compute.instance_count,
            framework_version=framework_version,
            py_version=py_version,
            image_uri=training_image,
            hyperparameters=hyperparameters,
            distribution={"torch_distributed": {"enabled": True}} if distributed else None,
            environment=environment,
            output_path=output_data_config.s3_output_path if output_data_config else None,
            checkpoint_s3_uri=checkpoint_s3_uri,
            base_job_name=base_job_name,
            max_run=(stopping_condition or StoppingCondition()).max_runtime_in_seconds,
            sagemaker_session=sagemaker_session,
        )
        if distributed is not None:
            self.estimator.processes_per_host = distributed.process_count_per_node

    def train(
        self,
        input_data_config: list[InputData] | None = None,
        wait: bool = True,
        logs: bool = True,
    ) -> None:
        """Run the training job (see :meth:`PyTorch.fit`)."""
        channels = input_data_config if input_data_config is not None else self.input_data_config
        self.estimator.fit(
            {c.channel_name: TrainingInput(c.data_source) for c in channels} or None,
            wait=wait,
            logs=logs,
        )

    @property
    def model_data(self) -> str:
        """The trained ``model.tar.gz`` URI."""
        return self.estimator.model_data

    @property
    def latest_training_job(self) -> Any:
        """The last job (``.name``, ``.describe()``)."""
        return self.estimator.latest_training_job
