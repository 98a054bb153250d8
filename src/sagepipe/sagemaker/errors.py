"""Errors of the SageMaker backend (compile, validate, submit)."""

from __future__ import annotations

from sagepipe.errors import PipelineDefinitionError, SagepipeError

# The image table is a leaf module shared with the local engine; its error is re-exported.
from sagepipe.images import ImageNotFoundError as ImageNotFoundError


class CompileError(PipelineDefinitionError):
    """A step cannot be expressed as a SageMaker pipeline step (missing role, unknown image,
    a feature SageMaker Pipelines does not have...)."""


class DefinitionValidationError(SagepipeError):
    """The compiled definition breaks the SageMaker API's rules.

    Attributes:
        problems: Every problem found, each ``step 'x': Arguments.path: message``.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:20])
        more = f"; and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(
            f"the SageMaker definition is not valid ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}): {shown}{more}"
        )


class AwsError(SagepipeError):
    """An AWS call failed, or AWS cannot be reached with the current credentials."""


class CredentialsError(AwsError):
    """No AWS credentials were found."""

    def __init__(self) -> None:
        super().__init__(
            "no AWS credentials found: run 'aws configure' (or 'aws sso login --profile P' "
            "and set AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )


class SubmitError(AwsError):
    """The pipeline cannot be submitted (no role, no bucket, a failed upload...)."""
