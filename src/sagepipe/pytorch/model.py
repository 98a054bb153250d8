"""``PyTorchModel``: the SageMaker SDK's model class: deploy, create and register locally.

``deploy(instance_type="local")`` starts a named local endpoint (see
:mod:`sagepipe.endpoints`) and returns a Predictor bound to its name; ``create()`` records
the model in the run store (SageMaker's ``CreateModel``); ``register()`` adds a version to
the local model registry (``Model.register``). An ``ml.*`` instance type deploys to a
SageMaker endpoint with boto3 (see :mod:`sagepipe.pytorch.sagemaker_endpoints`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.pytorch.errors import EstimatorError

if TYPE_CHECKING:
    from sagepipe.local.records import ModelRecord
    from sagepipe.registry import ModelPackage
    from sagepipe.serving.deserializers import BaseDeserializer
    from sagepipe.serving.predictor import Predictor
    from sagepipe.serving.serializers import BaseSerializer

LOCAL_TYPES = ("local", "local_cpu", "local_gpu")
DEFAULT_FRAMEWORK_VERSION = "2.1"
DEFAULT_PY_VERSION = "py310"


class PyTorchModel:
    """A PyTorch model for SageMaker's PyTorch inference container.

    Args:
        model_data: ``model.tar.gz`` URI or path (or a model directory, locally).
        role: IAM role ARN (SageMaker only).
        entry_point: Inference script, relative to ``source_dir``; without ``source_dir`` a
            path (relative to the working directory) to the one script that is added to the
            archive's ``code/``, as the SDK's repack does (locally and on SageMaker).
        source_dir: Directory of the inference code, which replaces the archive's ``code/``
            (default: the archive's ``code/`` plus ``entry_point``).
        framework_version: PyTorch version of the inference image (default 2.1).
        py_version: Python version of the image (default py310).
        image_uri: The inference image, instead of the SDK's PyTorch image of
            ``framework_version``/``py_version``. A local endpoint needs one of the PyTorch
            inference images the SDK knows (it selects the runtime); SageMaker takes any.
        env: The container's environment variables.
        name: The model's name (default ``pytorch-inference-<timestamp>``).
        region: Region for the image URI (default ``$AWS_REGION`` or us-east-1).
        sagemaker_session: A ``boto3.Session`` for SageMaker endpoints (default: a new one).
    """

    def __init__(
        self,
        model_data: str,
        role: str | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        image_uri: str | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        region: str | None = None,
        sagemaker_session: Any = None,
    ) -> None:
        self.model_data = str(model_data)
        self.role = role
        self.entry_point = entry_point
        # An s3:// source_dir is code already uploaded (an estimator's sourcedir.tar.gz).
        self.source_dir = (
            source_dir
            if source_dir is None or source_dir.startswith("s3://")
            else str(Path(source_dir).absolute())
        )
        self.framework_version = framework_version or DEFAULT_FRAMEWORK_VERSION
        self.py_version = py_version or DEFAULT_PY_VERSION
        self.image_uri = image_uri
        self.env = dict(env or {})
        self.name = name
        self.region = region
        self.sagemaker_session = sagemaker_session
        self.endpoint_name: str | None = None

    def _region(self) -> str:
        import os

        return self.region or os.environ.get("AWS_REGION") or "us-east-1"

    def serving_image_uri(
        self, region_name: str | None = None, instance_type: str = "ml.m5.large"
    ) -> str:
        """The model's image: ``image_uri`` when given, else the SageMaker PyTorch inference
        image of its versions (the SDK's ``serving_image_uri``).

        Raises:
            ImageNotFoundError: The SDK's table has no such image.
        """
        from sagepipe.images import image_uri

        if self.image_uri is not None:
            return self.image_uri
        region = region_name or self._region()
        return image_uri(
            "inference", region, self.framework_version, self.py_version, instance_type
        )

    def _check_local_image(self) -> None:
        """Refuse, before a local endpoint starts, an ``image_uri`` no local runtime serves."""
        from sagepipe.local.calls.images import local_runtime, unsupported_image

        if self.image_uri is None:
            return
        reason = unsupported_image("image_uri", self.image_uri)
        runtime = local_runtime(self.image_uri)
        if runtime is not None and runtime.kind not in ("pytorch-inference", "pytorch"):
            reason = (
                f"image_uri {self.image_uri!r} is a {runtime.kind} image; a local endpoint "
                "serves models as SageMaker's PyTorch inference images do (pytorch-inference, "
                "sagemaker-pytorch)"
            )
        if reason is not None:
            raise EstimatorError(f"PyTorchModel(image_uri=...): {reason}")

    def _environment(self) -> dict[str, str]:
        """The container environment (the one builder of CreateModel environments)."""
        from sagepipe.sagemaker.model_environment import model_environment

        return model_environment(self._region(), self.entry_point, self.env)

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "local",
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        endpoint_name: str | None = None,
        *,
        workers: int | None = None,
    ) -> Predictor:
        """Deploy this model to an endpoint; return a Predictor for it.

        ``local``/``local_cpu``/``local_gpu`` start a named local endpoint; an ``ml.*``
        instance type creates the SageMaker model, endpoint config and endpoint, and waits
        until the endpoint is ``InService``.

        Raises:
            EstimatorError: an unknown instance type, more than one local instance, an
                ``image_uri`` with no local runtime (locally), or (on SageMaker) no role or
                model data not on S3.
            EndpointError: the local server did not start (the message has its log tail).
            EndpointFailedError: the SageMaker endpoint ended ``Failed``.
        """
        from sagepipe.endpoints import create_endpoint
        from sagepipe.serving.predictor import Predictor

        if instance_type.startswith("ml."):
            return self._deploy_to_sagemaker(
                initial_instance_count, instance_type, serializer, deserializer, endpoint_name
            )
        if instance_type not in LOCAL_TYPES:
            raise EstimatorError(
                f"instance_type {instance_type!r}: use {', '.join(LOCAL_TYPES)} for a local "
                "endpoint or a SageMaker instance type (ml.m5.large, ...)"
            )
        if initial_instance_count != 1:
            raise EstimatorError(
                "a local endpoint runs one server: use initial_instance_count=1 (workers= "
                "sets its parallelism)"
            )
        self._check_local_image()
        name = endpoint_name or self.name or _timestamped("pytorch-inference")
        entry_point = self.entry_point
        if entry_point and self.source_dir is None and Path(entry_point).is_file():
            # The script from here, added to the archive's code/ (as the SDK's repack).
            entry_point = str(Path(entry_point).absolute())
        create_endpoint(
            name,
            self.model_data,
            entry_point=entry_point,
            source_dir=self.source_dir,
            environment=self.env,
            workers=workers,
        )
        self.endpoint_name = name
        return Predictor(name, serializer, deserializer)

    def _deploy_to_sagemaker(
        self,
        initial_instance_count: int,
        instance_type: str,
        serializer: BaseSerializer | None,
        deserializer: BaseDeserializer | None,
        endpoint_name: str | None,
    ) -> Predictor:
        from sagepipe.pytorch.sagemaker_endpoints import deploy_to_sagemaker
        from sagepipe.serving.predictor import Predictor

        # As the SDK: the endpoint (and its config) are named after the model by default.
        model_name = self.name or _timestamped("pytorch-inference")
        name = endpoint_name or model_name
        session = deploy_to_sagemaker(self, initial_instance_count, instance_type, model_name, name)
        self.name, self.endpoint_name = model_name, name
        return Predictor(name, serializer, deserializer, boto_session=session)

    def create(self, instance_type: str = "ml.m5.large") -> ModelRecord:
        """Record the model in the run store (``CreateModel``), found later by its name."""
        from sagepipe.local.records import ModelRecord
        from sagepipe.local.store import RunStore
        from sagepipe.storage import sagepipe_home

        self.name = self.name or _timestamped("pytorch-inference")
        record = ModelRecord(
            name=self.name,
            execution_id="",
            step_name="",
            image=self.serving_image_uri(instance_type=instance_type),
            model_data_url=self.model_data,
            environment=self._environment(),
            region=self._region(),
            created_at=time.time(),
        )
        store = RunStore.open(sagepipe_home())
        try:
            store.add_model(record)
        finally:
            store.close()
        return record

    def register(
        self,
        content_types: Sequence[str],
        response_types: Sequence[str],
        inference_instances: Sequence[str] | None = None,
        transform_instances: Sequence[str] | None = None,
        model_package_group_name: str | None = None,
        approval_status: str = "PendingManualApproval",
        description: str | None = None,
        customer_metadata_properties: dict[str, str] | None = None,
        domain: str | None = None,
        task: str | None = None,
        **kwargs: Any,
    ) -> ModelPackage:
        """Register a model package version in the local model registry (``Model.register``).

        Raises:
            EstimatorError: no ``model_package_group_name``, or an unsupported argument.
        """
        from sagepipe.registry import LocalRegistry, register_model_version

        if kwargs:
            raise EstimatorError(
                f"register() does not support {', '.join(sorted(kwargs))} locally; supported: "
                "content_types, response_types, inference_instances, transform_instances, "
                "model_package_group_name, approval_status, description, "
                "customer_metadata_properties, domain, task"
            )
        if not model_package_group_name:
            raise EstimatorError("register() needs model_package_group_name")
        instances = list(inference_instances or ["ml.m5.large"])
        return register_model_version(
            LocalRegistry(),
            group=model_package_group_name,
            region=self._region(),
            model_data_uri=self.model_data,
            image_uri=self.serving_image_uri(instance_type=instances[0]),
            content_types=content_types,
            response_types=response_types,
            instance_types=instances,
            transform_instance_types=list(transform_instances or instances),
            approval_status=approval_status,  # type: ignore[arg-type]  # checked by the registry
            description=description or "",
            domain=domain,
            task=task,
            framework="PYTORCH",
            framework_version=self.framework_version,
            environment=self._environment(),
            customer_metadata=customer_metadata_properties,
        )


def _timestamped(base: str) -> str:
    now = time.time()
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
    return f"{base}-{stamp}-{int(now * 1000) % 1000:03d}"
