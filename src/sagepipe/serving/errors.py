"""Errors of the model server, the batch transform and the client.

:class:`InferenceError` is the one exception a user's handler may raise to choose the HTTP
status of its response (as ``BaseInferenceToolkitError`` does in SageMaker's toolkit); any
other exception from a handler becomes a 500 whose body carries the exception's message.
"""

from __future__ import annotations

from sagepipe.errors import SagepipeError


class ServingError(SagepipeError):
    """The model server cannot start or be configured as asked."""


class ModelSourceError(ServingError):
    """MODEL, the source directory or the entry point cannot be found or read."""


class ModelLoadError(ServingError):
    """``model_fn`` (the user's or the default one) failed to load the model."""


class HandlerSignatureError(ServingError):
    """A handler function has a signature the model server cannot call."""


class TransformError(SagepipeError):
    """A batch transform job failed; the message names the file and the record."""


class InvocationError(SagepipeError):
    """An endpoint answered an invocation with an error status.

    Attributes:
        status: The HTTP status code (or SageMaker's ``OriginalStatusCode``).
        body: The error response body.
    """

    def __init__(self, message: str, status: int, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class InferenceError(Exception):
    """Raised by a handler (or the default handlers) to answer with a specific HTTP status.

    Args:
        status: HTTP status code, 400-599.
        message: What went wrong and how to fix it; sent to the client.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def unsupported_media(
    kind: str, value: str, supported: tuple[str, ...], fix: str
) -> InferenceError:
    """A 415 naming the unsupported content type or accept and the supported ones."""
    return InferenceError(
        415,
        f"{kind} {value!r} is not supported by the default handlers; supported: "
        f"{', '.join(supported)}. {fix}",
    )
