"""The config-driven model registration pipeline: model -> packaging -> payload -> registration.

One config file holds a :class:`PyTorchModelConfig`, a :class:`PackagingConfig`, a
:class:`PayloadConfig` and a :class:`RegistrationConfig` (under any step names); the model data
is given when the pipeline is generated::

    builder = ModelRegistrationPipeline("config.yaml")
    pipeline = builder.generate_pipeline(model_s3_path="s3://bucket/path/model.tar.gz")

Registration fans out to one step per configured region, ``Registration_<region>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from sagepipe.config.base import BasePipelineConfig
from sagepipe.config.files import read_config_file
from sagepipe.config.model import PyTorchModelConfig
from sagepipe.config.packaging import PackagingConfig
from sagepipe.config.payload import PayloadConfig
from sagepipe.config.registration import RegistrationConfig
from sagepipe.definitions.errors import ModelPathError
from sagepipe.errors import ConfigFileError
from sagepipe.expressions import Parameter
from sagepipe.pipeline import Pipeline, PipelineBuilderTemplate, PipelineDAG
from sagepipe.steps import DEFAULT_STEP_BUILDERS

# DAG node names; registration's steps are named Registration_<region>.
MODEL, PACKAGING, PAYLOAD, REGISTRATION = "Model", "Packaging", "Payload", "Registration"

_S3_OBJECT = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+$")
_Config = TypeVar("_Config", bound=BasePipelineConfig)


class ModelRegistrationPipeline:
    """Builds the registration pipeline of a pre-trained PyTorch model from one config file.

    Args:
        config_path: JSON or YAML config file (see :func:`sagepipe.config.files.save_configs`)
            holding exactly one model, packaging, payload and registration config.
        sagemaker_session: Accepted for compatibility with the seed API; unused.
        role: Execution role ARN given to every step builder.

    Raises:
        ConfigFileError: A config type is missing from the file or appears twice.
    """

    def __init__(
        self,
        config_path: str | Path,
        sagemaker_session: object = None,
        role: str | None = None,
    ) -> None:
        config_file = read_config_file(config_path)
        self.config_path = config_file.path
        configs = config_file.configs
        self.model_config = _one(self.config_path, configs, PyTorchModelConfig)
        self.packaging_config = _one(self.config_path, configs, PackagingConfig)
        self.payload_config = _one(self.config_path, configs, PayloadConfig)
        registration = _one(self.config_path, configs, RegistrationConfig)
        # Always one step per region, so the steps are named Registration_<region>.
        if not registration.regions:
            registration = registration.model_copy(update={"regions": [registration.region]})
        self.registration_config = registration
        self.parameters = list(config_file.parameters.values())
        self.sagemaker_session = sagemaker_session
        self.role = role

    @property
    def pipeline_name(self) -> str:
        """The pipeline name: the configs' shared ``pipeline_name``."""
        names = {
            c.pipeline_name
            for c in (
                self.model_config,
                self.packaging_config,
                self.payload_config,
                self.registration_config,
            )
        }
        if len(names) != 1:
            raise ConfigFileError(
                f"{self.config_path}: the configs name different pipelines "
                f"({', '.join(sorted(names))}); put pipeline_name in the shared: section"
            )
        return names.pop()

    def generate_pipeline(self, model_s3_path: str | Parameter) -> Pipeline:
        """Build the pipeline for the model archive at ``model_s3_path``.

        Args:
            model_s3_path: ``s3://bucket/key/model.tar.gz``, or (for local runs) the path of
                an existing local file, used as an absolute path; or a String parameter
                (``ParameterString("ModelPath", ...)``) whose value is given per execution
                and checked when the model step runs.

        Raises:
            ModelPathError: The path is neither an S3 object URI nor an existing local file.
        """
        model_data = check_model_path(model_s3_path)
        dag = PipelineDAG(
            nodes=[MODEL, PACKAGING, PAYLOAD, REGISTRATION],
            edges=[
                (MODEL, PACKAGING),
                (PACKAGING, PAYLOAD),
                (PACKAGING, REGISTRATION),
                (PAYLOAD, REGISTRATION),
            ],
        )
        template = PipelineBuilderTemplate(
            dag=dag,
            config_map={
                MODEL: self.model_config,
                PACKAGING: self.packaging_config,
                PAYLOAD: self.payload_config,
                REGISTRATION: self.registration_config,
            },
            step_builder_map=DEFAULT_STEP_BUILDERS,
            sagemaker_session=self.sagemaker_session,
            role=self.role,
            inputs={MODEL: {"model_data": model_data}},
            parameters=self.parameters,
            root=self.config_path.parent,
        )
        return template.generate_pipeline(self.pipeline_name)


def check_model_path(model_path: str | Parameter) -> str | Parameter:
    """Return the model data location to use, or raise :class:`ModelPathError`."""
    if isinstance(model_path, Parameter):
        if model_path.parameter_type != "String":
            raise ModelPathError(
                f"model_s3_path is the {model_path.parameter_type} parameter "
                f"{model_path.name!r}; use a String parameter"
            )
        return model_path
    if not isinstance(model_path, str) or not model_path:
        raise ModelPathError(f"model_s3_path must be a non-empty string, got {model_path!r}")
    if model_path.startswith("s3://"):
        if not _S3_OBJECT.match(model_path):
            raise ModelPathError(
                f"model_s3_path {model_path!r} is not an S3 object URI; write "
                "s3://<bucket>/<key>, e.g. s3://my-bucket/models/model.tar.gz"
            )
        return model_path
    local = Path(model_path).expanduser()
    if local.is_file():
        return str(local.resolve())
    raise ModelPathError(
        f"model_s3_path {model_path!r} is not an s3:// URI and not an existing local file; "
        "give s3://<bucket>/<key>/model.tar.gz, or for a local run the path of a model.tar.gz"
    )


def _one(file: Path, configs: dict[str, BasePipelineConfig], cls: type[_Config]) -> _Config:
    found = {step: c for step, c in configs.items() if type(c) is cls}
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        present = ", ".join(f"{s} ({type(c).__name__})" for s, c in configs.items()) or "none"
        raise ConfigFileError(
            f"{file}: the registration pipeline needs a {cls.__name__} and the file has none "
            f"(it has: {present}); add a step with config_type: {cls.__name__}"
        )
    raise ConfigFileError(
        f"{file}: the registration pipeline needs exactly one {cls.__name__}, the file has "
        f"{len(found)} ({', '.join(found)}); keep one"
    )


# The seed documents' name for the same builder.
BSMPytorchPipelineBuilder = ModelRegistrationPipeline
