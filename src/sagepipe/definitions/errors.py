"""Errors of loading pipelines and building the ready-made ones."""

from __future__ import annotations

from pathlib import Path

from sagepipe.errors import PipelineDefinitionError, PipelineLoadError, SagepipeError


class PipelineFileError(PipelineLoadError):
    """A pipeline file is well-formed but describes an invalid pipeline.

    The message starts with the file; ``__cause__`` keeps the original error (for example a
    :class:`~sagepipe.errors.CycleError`).
    """

    def __init__(self, file: Path, where: str, cause: SagepipeError) -> None:
        self.file = file
        self.cause = cause
        location = f"{file}: {where}: " if where else f"{file}: "
        super().__init__(f"{location}{cause}")


class ModelPathError(PipelineDefinitionError):
    """The model path given to a ready-made pipeline is neither an S3 URI nor a local file."""


class ExistingFileError(SagepipeError):
    """Writing starter files would overwrite an existing file."""
