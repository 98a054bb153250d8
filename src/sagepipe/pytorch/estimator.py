"""``PyTorch``: the SageMaker SDK's PyTorch estimator, running locally or on SageMaker.

``instance_type="local"``/``"local_cpu"`` (and ``None`` when no AWS credentials are found)
runs the job with sagepipe's local training runtime; any ``ml.*`` type creates a SageMaker
training job with boto3 (see :mod:`sagepipe.pytorch.sagemaker_jobs`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.pytorch.errors import EstimatorError, JobNotFoundError, TrainingFailedError
from sagepipe.pytorch.inputs import TrainingInput, normalise_inputs
from sagepipe.pytorch.jobs import (
    COMPLETED,
    JobRecord,
    JobStore,
    LocalJobRequest,
    follow_job,
    start_local_job,
)
from sagepipe.pytorch.model import PyTorchModel

if TYPE_CHECKING:
    from sagepipe.serving.deserializers import BaseDeserializer
    from sagepipe.serving.predictor import Predictor
    from sagepipe.serving.serializers import BaseSerializer

LOCAL_TYPES = ("local", "local_cpu")
DEFAULT_OUTPUT_PATH = "s3://sagepipe-local/training-jobs"  # as `sagepipe train`
DEFAULT_BASE_JOB_NAME = "pytorch-training"  # the SDK's name for the PyTorch image
DEFAULT_MAX_RUN = 24 * 60 * 60  # the SDK's default max_run
#: distribution keys of the SDK -> the local runtime's launcher.
_DISTRIBUTIONS = {"torch_distributed": "torch_distributed", "pytorchddp": "pytorchddp"}


def distribution_name(distribution: dict[str, Any] | None) -> str | None:
    """The enabled strategy of an SDK ``distribution`` dict (None when there is none).

    Raises:
        EstimatorError: an unknown strategy or more than one enabled.
    """
    if not distribution:
        return None
    enabled = []
    for key, value in distribution.items():
        if key not in _DISTRIBUTIONS:
            raise EstimatorError(
                f"distribution {key!r} is not supported; use "
                + " or ".join(f'{{"{k}": {{"enabled": True}}}}' for k in _DISTRIBUTIONS)
            )
        if isinstance(value, dict) and value.get("enabled"):
            enabled.append(_DISTRIBUTIONS[key])
    if len(enabled) > 1:
        raise EstimatorError(f"distribution enables {enabled}; enable only one")
    return enabled[0] if enabled else None


def default_job_name(base: str) -> str:
    """``<base>-<UTC time with milliseconds>``, as the SDK names jobs."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
    return f"{base}-{stamp}-{int(now * 1000) % 1000:03d}"


def has_aws_credentials() -> bool:
    """Whether boto3 would find AWS credentials (no network call)."""
    import boto3

    return boto3.Session().get_credentials() is not None


class TrainingJob:
    """``estimator.latest_training_job``: the job's name and ``describe()``."""

    def __init__(self, name: str, describe: Any) -> None:
        self.name = name
        self.job_name = name
        self._describe = describe

    def describe(self) -> dict[str, Any]:
        """``DescribeTrainingJob``'s response (locally, from the run store)."""
        result: dict[str, Any] = self._describe()
        return result


class PyTorch:
    """The SageMaker SDK's ``sagemaker.pytorch.PyTorch`` estimator.

    Args:
        entry_point: Training script, relative to ``source_dir`` (or a path to it).
        source_dir: Directory of the code (default: the entry point's directory).
        role: IAM role ARN (required for SageMaker jobs; unused locally).
        instance_type: ``local``/``local_cpu`` or an ``ml.*`` type (SageMaker).
        instance_count: Hosts (simulated ``algo-1..N`` locally).
        framework_version: PyTorch version of the SageMaker image (e.g. ``2.1``); optional
            with ``image_uri``.
        py_version: Python version of the image (e.g. ``py310``); optional with ``image_uri``.
        image_uri: The training image, instead of the SDK's PyTorch image of
            ``framework_version``/``py_version``. Locally it must be one of the PyTorch images
            the SDK knows (it selects the runtime); any image is accepted for SageMaker.
        hyperparameters: Passed to the script as ``--name value``.
        distribution: ``{"torch_distributed": {"enabled": True}}`` or
            ``{"pytorchddp": {"enabled": True}}`` to launch with torchrun.
        environment: Extra environment variables of the job.
        metric_definitions: ``[{"Name": ..., "Regex": ...}]`` captured from the log.
        output_path: Where ``<job>/output/model.tar.gz`` goes.
        checkpoint_s3_uri: Synced with ``/opt/ml/checkpoints`` before and after the job.
        dependencies: Directories/files copied next to the entry point.
        base_job_name: Prefix of generated job names.
        max_run: Seconds before the job is stopped (default 24 h).
        sagemaker_session: A ``boto3.Session`` for SageMaker jobs (default: a new one).
    """

    def __init__(
        self,
        entry_point: str,
        source_dir: str | None = None,
        role: str | None = None,
        instance_type: str | None = None,
        instance_count: int = 1,
        framework_version: str | None = None,
        py_version: str | None = None,
        image_uri: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        distribution: dict[str, Any] | None = None,
        environment: dict[str, str] | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        output_path: str | None = None,
        checkpoint_s3_uri: str | None = None,
        dependencies: list[str] | None = None,
        base_job_name: str | None = None,
        max_run: int = DEFAULT_MAX_RUN,
        sagemaker_session: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise EstimatorError(
                f"PyTorch() got unsupported argument(s) {', '.join(sorted(kwargs))}; "
                f"supported: {', '.join(_SUPPORTED)}"
            )
        if source_dir is None:
            path = Path(entry_point)
            source_dir, entry_point = str(path.parent.absolute()), path.name
        self.entry_point = entry_point
        self.source_dir = str(Path(source_dir).absolute())
        self.role = role
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.framework_version = framework_version
        self.py_version = py_version
        self.image_uri = image_uri
        self.hyperparameters = dict(hyperparameters or {})
        self.distribution = dict(distribution or {})
        #: The enabled strategy of ``distribution`` (``torch_distributed``, ``pytorchddp``).
        self.distribution_strategy = distribution_name(distribution)
        self.environment = dict(environment or {})
        self.metric_definitions = list(metric_definitions or [])
        self.output_path = output_path
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.dependencies = [str(Path(d).absolute()) for d in dependencies or []]
        self.base_job_name = base_job_name or DEFAULT_BASE_JOB_NAME
        self.max_run = max_run
        self.sagemaker_session = sagemaker_session
        self._job_name: str | None = None
        self._model_data: str | None = None
        self._remote: Any = None  # a SageMakerTrainingJob for ml.* jobs
        self._home: Path | None = None
        #: torchrun's processes per host (set by ModelTrainer's Torchrun; default: GPUs or 1).
        self.processes_per_host: int | None = None

    # ------------------------------------------------------------------ training

    @property
    def is_local(self) -> bool:
        """Whether jobs run on this machine (``local``, ``local_cpu``, or no credentials)."""
        if self.instance_type is None:
            return not has_aws_credentials()
        return self.instance_type in LOCAL_TYPES

    def fit(
        self,
        inputs: Any = None,
        wait: bool = True,
        logs: bool | str = True,
        job_name: str | None = None,
    ) -> None:
        """Run a training job.

        Args:
            inputs: A URI (the ``training`` channel), a TrainingInput, or a dict of channel
                names to URIs or TrainingInputs.
            wait: Block until the job ends (a local job otherwise runs in the background).
            logs: Stream the job's log while waiting.
            job_name: The job's name (default: ``<base_job_name>-<timestamp>``).

        Raises:
            TrainingFailedError: the job failed (when waiting); the message has the reason.
        """
        channels = normalise_inputs(inputs)
        name = job_name or default_job_name(self.base_job_name)
        if not self.is_local:
            from sagepipe.pytorch.sagemaker_jobs import SageMakerTrainingJob

            self._remote = SageMakerTrainingJob.create(self, name, channels)
            self._job_name = name
            if wait:
                self._model_data = self._remote.wait(logs=bool(logs))
            return
        with JobStore() as store:
            if store.exists(name):
                raise EstimatorError(
                    f"a local training job named {name!r} already exists; choose another job_name"
                )
            self._home = store.home
        if self.instance_type is None:
            print("sagepipe: no AWS credentials found: running the job locally", flush=True)
        request = LocalJobRequest(
            job_name=name,
            source_dir=self.source_dir,
            entry_point=self.entry_point,
            dependencies=self.dependencies,
            hyperparameters=self.hyperparameters,
            channels={n: c.s3_data for n, c in channels.items()},
            environment=self.environment,
            instance_type=self.instance_type or "local",
            instance_count=self.instance_count,
            distribution=self.distribution_strategy,
            processes_per_host=self.processes_per_host,
            metric_definitions=self.metric_definitions,
            max_run=self.max_run,
            output_path=self.output_path or DEFAULT_OUTPUT_PATH,
            checkpoint_s3_uri=self.checkpoint_s3_uri,
        )
        _check_request(request)
        _check_local_image(self.image_uri)
        create = self._local_request(name, channels, store.home)
        request = request.model_copy(update={"create_request": create})
        start_local_job(request, self._home)
        self._job_name = name
        if wait:
            self._finish(follow_job(name, _printer if logs else None, self._home))

    def _local_request(
        self, name: str, channels: dict[str, TrainingInput], home: Path
    ) -> dict[str, Any]:
        """The CreateTrainingJob request the local job runs: the one SageMaker would get, with
        the code as a ``file://`` submit directory (packed with its dependencies, as the SDK
        packs them, when there are any) and channel paths as ``file://`` URIs."""
        import os

        from sagepipe.pytorch.requests import estimator_request
        from sagepipe.pytorch.sagemaker_jobs import source_archive
        from sagepipe.sagemaker.training_request import local_training_image
        from sagepipe.storage import is_s3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        region = region or "us-east-1"
        submit = Path(self.source_dir).as_uri()
        if self.dependencies:
            archive = JobStore.job_dir_in(home, name) / "sourcedir.tar.gz"
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(source_archive(Path(self.source_dir), self.dependencies))
            submit = archive.as_uri()
        local_channels = {
            n: c
            if is_s3(c.s3_data) or c.s3_data.startswith("file://")
            else replace(c, s3_data=Path(c.s3_data).absolute().as_uri())
            for n, c in channels.items()
        }
        return estimator_request(
            self,
            name,
            local_channels,
            region=region,
            submit_directory=submit,
            image=self.image_uri or local_training_image(region),
            output_path=self.output_path or DEFAULT_OUTPUT_PATH,
        )

    def _finish(self, record: JobRecord) -> None:
        if record.status != COMPLETED:
            raise TrainingFailedError(
                f"training job {record.name} {record.status}: {record.failure_reason}\n"
                f"log: {record.log_path}"
            )
        self._model_data = record.model_data

    @classmethod
    def attach(
        cls, training_job_name: str, sagemaker_session: Any = None, logs: bool = True
    ) -> PyTorch:
        """An estimator for an existing job: a local one from the run store, else SageMaker.

        A job still running is followed (its log streamed) until it ends.
        """
        try:
            with JobStore() as store:
                record = store.get(training_job_name)
        except JobNotFoundError:
            if sagemaker_session is None and not has_aws_credentials():
                raise
            from sagepipe.pytorch.sagemaker_jobs import SageMakerTrainingJob

            return SageMakerTrainingJob.attach(cls, training_job_name, sagemaker_session, logs)
        request = record.request
        estimator = cls(
            entry_point=request.entry_point,
            source_dir=request.source_dir,
            instance_type=request.instance_type,
            instance_count=request.instance_count,
            hyperparameters=request.hyperparameters,
            distribution={request.distribution: {"enabled": True}}
            if request.distribution
            else None,
            environment=request.environment,
            metric_definitions=request.metric_definitions,
            output_path=request.output_path,
            checkpoint_s3_uri=request.checkpoint_s3_uri,
            max_run=request.max_run or DEFAULT_MAX_RUN,
        )
        estimator.processes_per_host = request.processes_per_host
        estimator._job_name = training_job_name
        estimator._home = store.home
        estimator._finish(follow_job(training_job_name, _printer if logs else None, store.home))
        return estimator

    @property
    def latest_training_job(self) -> TrainingJob | None:
        """The last job ``fit`` started (``.name``, ``.describe()``), or None."""
        if self._job_name is None:
            return None
        if self._remote is not None:
            return TrainingJob(self._job_name, self._remote.describe)
        name, home = self._job_name, self._home

        def describe() -> dict[str, Any]:
            with JobStore(home) as store:
                return store.get(name).describe()

        return TrainingJob(name, describe)

    @property
    def model_data(self) -> str:
        """The trained ``model.tar.gz`` URI.

        Raises:
            EstimatorError: no job completed yet (call ``fit`` or ``attach`` first).
        """
        if self._model_data is None and self._job_name is not None and self._remote is None:
            with JobStore(self._home) as store:
                self._model_data = store.get(self._job_name).model_data
        if self._model_data is None:
            raise EstimatorError(
                "the estimator has no trained model yet: call fit() (and wait for it) or "
                "PyTorch.attach(job_name)"
            )
        return self._model_data

    @property
    def training_job_analytics(self) -> Any:
        """The captured metrics: a pandas DataFrame (timestamp, metric_name, value) if pandas
        is installed, else a list of such records."""
        from sagepipe.pytorch.analytics import TrainingJobAnalytics

        if self._job_name is None:
            raise EstimatorError("no training job yet: call fit() first")
        with JobStore(self._home) as store:
            return TrainingJobAnalytics(store.get(self._job_name).metrics)

    # ------------------------------------------------------------------ deployment

    def create_model(
        self, env: dict[str, str] | None = None, image_uri: str | None = None
    ) -> PyTorchModel:
        """A :class:`PyTorchModel` of the trained model, served with the training code (as
        the SDK does: the entry point defines ``model_fn``). After a SageMaker job the
        model reuses the job's uploaded ``sourcedir.tar.gz``. Its ``image_uri`` is the given
        one, else the estimator's (the SDK passes the estimator's on, too)."""
        submit_uri = None if self._remote is None else self._remote.submit_uri
        return PyTorchModel(
            model_data=self.model_data,
            role=self.role,
            entry_point=self.entry_point,
            source_dir=submit_uri or self.source_dir,
            framework_version=self.framework_version,
            py_version=self.py_version,
            image_uri=image_uri if image_uri is not None else self.image_uri,
            env=env,
            sagemaker_session=self.sagemaker_session,
        )

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "local",
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        endpoint_name: str | None = None,
    ) -> Predictor:
        """Deploy the trained model to a named endpoint and return a Predictor for it:
        a local endpoint, or a SageMaker endpoint for an ``ml.*`` instance type (see
        :meth:`PyTorchModel.deploy`)."""
        return self.create_model().deploy(
            initial_instance_count=initial_instance_count,
            instance_type=instance_type,
            serializer=serializer,
            deserializer=deserializer,
            endpoint_name=endpoint_name,
        )


def _printer(line: str) -> None:
    print(line, flush=True)


def _check_local_image(image_uri: str | None) -> None:
    """Refuse, before a local job starts, an ``image_uri`` with no local runtime."""
    from sagepipe.local.calls.images import unsupported_image

    reason = None if image_uri is None else unsupported_image("image_uri", image_uri)
    if reason is not None:
        raise EstimatorError(f"PyTorch(image_uri=...): {reason}")


def _check_request(request: LocalJobRequest) -> None:
    source = Path(request.source_dir)
    if not (source / request.entry_point).is_file():
        raise EstimatorError(
            f"entry_point {request.entry_point!r} is not a file in source_dir {source}"
        )
    for dependency in request.dependencies:
        if not Path(dependency).exists():
            raise EstimatorError(f"dependency {dependency} does not exist")


_SUPPORTED = (
    "entry_point",
    "source_dir",
    "role",
    "instance_type",
    "instance_count",
    "framework_version",
    "py_version",
    "image_uri",
    "hyperparameters",
    "distribution",
    "environment",
    "metric_definitions",
    "output_path",
    "checkpoint_s3_uri",
    "dependencies",
    "base_job_name",
    "max_run",
    "sagemaker_session",
)
