"""Config of the payload step: sample requests for testing a registered model."""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.artifacts.errors import PayloadError
from sagepipe.artifacts.payload import GENERATED_TYPES, HYPERPARAMETERS_FILE, read_hyperparameters
from sagepipe.artifacts.sample_files import (
    SAMPLE_CONTENT_TYPES,
    check_sample,
    local_sample_files,
    sample_content_type,
)
from sagepipe.config.base import (
    BasePipelineConfig,
    ConfigModel,
    InstanceType,
    is_s3_uri,
    resolve_local_dir,
)
from sagepipe.config.hyperparameters import ModelHyperparameters
from sagepipe.errors import ConfigError

logger = logging.getLogger(__name__)

SUPPORTED_PAYLOAD_TYPES = GENERATED_TYPES
#: The settings of payloads generated from field lists; ``samples`` replaces them all.
GENERATION_FIELDS = (
    "content_types",
    "default_numeric_value",
    "default_text_value",
    "field_defaults",
    "sample_count",
    "hyperparameters",
)


class SampleFile(ConfigModel):
    """One user-supplied sample payload: a file sent as one request, or a directory of them.

    Attributes:
        path: A local file or directory (a relative path is read from the config file's
            directory, else the working directory), or an ``s3://`` URI of an object or a
            prefix. A directory or prefix gives one sample per file in it.
        content_type: ``application/json``, ``text/csv`` or ``application/x-npy``; default:
            from each file's extension (``.json``, ``.csv``, ``.npy``).
    """

    path: str
    content_type: str | None = None

    @field_validator("path")
    @classmethod
    def _resolve_local_path(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("path must be given")
        if "://" in value and not is_s3_uri(value):
            raise ValueError(f"{value!r} is neither a local path nor an s3:// URI")
        return resolve_local_dir(value, info)

    @field_validator("content_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in SAMPLE_CONTENT_TYPES:
            raise ValueError(
                f"{value!r} is not supported; use one of " + ", ".join(SAMPLE_CONTENT_TYPES)
            )
        return value

    @model_validator(mode="after")
    def _check_local_files(self) -> SampleFile:
        # Local files are read now, so that a bad one stops the pipeline before it runs; an
        # s3:// object or prefix is known only when the job runs, and its script checks the
        # files it downloads the same way.
        if self.is_local:
            try:
                self.local_files()
            except PayloadError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def is_local(self) -> bool:
        """Whether the sample is on this machine (else on S3)."""
        return not is_s3_uri(self.path)

    def local_files(self) -> list[tuple[Path, str]]:
        """Each local file of this entry with the content type it is sent as.

        Raises:
            PayloadError: a missing path, an unknown extension, or a file that fails its
                content type's checks (see :mod:`sagepipe.artifacts.sample_files`).
        """
        files = []
        for file in local_sample_files(Path(self.path)):
            content_type = sample_content_type(str(file), self.content_type)
            check_sample(str(file), file.read_bytes(), content_type)
            files.append((file, content_type))
        return files


class PayloadConfig(BasePipelineConfig):
    """Sample payloads for the registration smoke test: the user's own sample files, or
    records generated from the model's field lists.

    With ``samples``, each file is one request, sent as it is; the field-list settings
    (``content_types`` ... ``hyperparameters``) do not apply then. Without, one payload per
    content type is generated from the tabular field lists.

    Attributes:
        samples: Sample files: each a path or ``s3://`` URI (file, directory or prefix), or
            ``{path, content_type}``. Local files are checked when the config is built and
            travel in the step's code bundle; ``s3://`` ones are inputs of its job.
        content_types: Formats to generate; each one of ``text/csv``, ``application/json``.
        default_numeric_value: Value of every numeric (tab) field; default 0.0.
        default_text_value: Value of every categorical field; default ``"DEFAULT_TEXT"``.
        field_defaults: Per-field overrides.
        sample_count: Records per payload; default 1.
        hyperparameters: Field lists to use when the model archive has no
            ``hyperparameters.json``.
        processing_instance_type: Instance of the processing job on SageMaker.
        image_uri: The processing job's image, instead of the SDK's PyTorch 2.1.0 training
            image the step's script runs on; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "PayloadStep"

    samples: list[SampleFile] = Field(default_factory=list)
    content_types: list[str] = Field(default_factory=lambda: list(SUPPORTED_PAYLOAD_TYPES))
    default_numeric_value: float = 0.0
    default_text_value: str = "DEFAULT_TEXT"
    field_defaults: dict[str, str | float] = Field(default_factory=dict)
    sample_count: int = Field(default=1, ge=1, le=10000)
    hyperparameters: ModelHyperparameters | None = None
    processing_instance_type: InstanceType = "ml.m5.large"
    image_uri: str | None = None

    @field_validator("samples", mode="before")
    @classmethod
    def _sample_paths(cls, value: Any) -> Any:
        # A bare path is the common case: its extension gives the content type.
        if isinstance(value, list):
            return [
                {"path": str(item)} if isinstance(item, str | PathLike) else item for item in value
            ]
        return value

    @field_validator("samples")
    @classmethod
    def _unique_file_names(cls, samples: list[SampleFile]) -> list[SampleFile]:
        names: dict[str, str] = {}
        for index, sample in enumerate(samples):
            if not sample.is_local:
                continue
            for file in local_sample_files(Path(sample.path)):
                clash = names.get(file.name)
                if clash is not None:
                    raise ValueError(
                        f"the sample {file} (entry {index}) has the same file name as {clash}; "
                        "the payload archive keeps samples by file name: rename one"
                    )
                names[file.name] = str(file)
        return samples

    @model_validator(mode="after")
    def _check(self) -> PayloadConfig:
        if self.samples:
            self._check_samples()
            return self
        if not self.content_types:
            raise ValueError(
                "content_types is empty; list at least one of " + ", ".join(SUPPORTED_PAYLOAD_TYPES)
            )
        unknown = [t for t in self.content_types if t not in SUPPORTED_PAYLOAD_TYPES]
        if unknown:
            raise ValueError(
                f"content_types {unknown} are not supported; use "
                + ", ".join(SUPPORTED_PAYLOAD_TYPES)
            )
        if len(set(self.content_types)) != len(self.content_types):
            raise ValueError(f"content_types repeat a type: {self.content_types}")
        if self.hyperparameters is not None:
            features = set(self.hyperparameters.tab_field_list) | set(
                self.hyperparameters.cat_field_list
            )
            unknown_fields = sorted(set(self.field_defaults) - features)
            if unknown_fields:
                raise ValueError(
                    f"field_defaults names fields that are not features: {unknown_fields}"
                )
        return self

    def _check_samples(self) -> None:
        generated = [name for name in GENERATION_FIELDS if name in self.model_fields_set]
        if generated:
            raise ValueError(
                f"samples are sent as they are, so {', '.join(generated)} (settings of "
                "generated payloads) do not apply; remove them or remove samples"
            )


def resolve_hyperparameters(
    model_archive: Path | None, config: PayloadConfig
) -> ModelHyperparameters:
    """The field lists of the archive's top-level ``hyperparameters.json`` when present,
    else the config's (as the payload job reads them).

    The file may hold JSON values (as the example's ``train.py`` writes) or SageMaker's
    all-string form; keys that are not model hyperparameters are ignored.

    Raises:
        PayloadError: neither has them, or the file's are not valid hyperparameters.
        ArchiveFormatError: the archive is corrupt or truncated.
    """
    if model_archive is not None:
        values = read_hyperparameters(model_archive)
        if values is not None:
            return _field_lists(values, f"{model_archive}: {HYPERPARAMETERS_FILE}")
    if config.hyperparameters is not None:
        return config.hyperparameters
    where = f"{model_archive} has no top-level {HYPERPARAMETERS_FILE}" if model_archive else ""
    raise PayloadError(
        f"no field lists for the payload: {where or 'no model archive was given'} and the "
        "payload config has no 'hyperparameters' (set id_name, label_name, full_field_list, "
        "tab_field_list and cat_field_list there)"
    )


def _field_lists(values: dict[str, Any], where: str) -> ModelHyperparameters:
    known = ModelHyperparameters.model_fields
    ignored = sorted(k for k in values if k not in known)
    if ignored:
        # Training scripts often save extra settings next to the model's own fields.
        logger.info("%s: ignoring keys that are not model hyperparameters: %s", where, ignored)
        values = {k: v for k, v in values.items() if k in known}
    try:
        if all(isinstance(v, str) for v in values.values()):
            return ModelHyperparameters.from_sagemaker(values)
        return ModelHyperparameters(**values)
    except ConfigError as exc:
        raise PayloadError(f"{where}: {exc}") from None
