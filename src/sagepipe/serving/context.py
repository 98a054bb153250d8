"""The ``context`` argument handlers may take, shaped like TorchServe's ``ts.context.Context``.

A handler declared with a trailing ``context`` parameter receives one of these. It carries the
worker's system properties (``model_dir``, ``gpu_id``, ``batch_size``...), the request headers
(``get_request_header(idx, name)``, case-insensitive), SageMaker's custom attributes header,
and lets the handler set response headers or a status, as TorchServe's context does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"


class RequestState:
    """Headers of one request and what a handler set on its response."""

    __slots__ = ("headers", "phrase", "response_headers", "status")

    def __init__(self, headers: Mapping[str, str]) -> None:
        # Header names are stored lower-cased so lookups ignore case, as HTTP requires.
        self.headers = headers
        self.response_headers: dict[str, str] = {}
        self.status: int | None = None
        self.phrase = ""


class Context:
    """Serving context passed to handlers that declare a trailing ``context`` parameter.

    Attributes:
        model_name: Always ``"model"``, as SageMaker's single-model endpoints name it.
        manifest: A TorchServe-like manifest (``{"model": {"modelName": "model"}}``).
        system_properties: ``model_dir``, ``gpu_id`` (``None`` on CPU), ``batch_size``,
            ``server_name``, ``server_version``, ``limit_max_image_pixels``.
    """

    __slots__ = ("_requests", "_system_properties", "manifest", "model_name")

    def __init__(
        self, system_properties: dict[str, Any], requests: list[RequestState] | None = None
    ) -> None:
        self.model_name = "model"
        self.manifest: dict[str, Any] = {"model": {"modelName": "model"}}
        self._system_properties = system_properties
        self._requests = requests or []

    @property
    def system_properties(self) -> dict[str, Any]:
        """Worker properties: ``model_dir``, ``gpu_id``, ``batch_size`` and server info."""
        return self._system_properties

    @property
    def custom_attributes(self) -> str | None:
        """The ``X-Amzn-SageMaker-Custom-Attributes`` header of the first request, if any."""
        return self.get_request_header(0, CUSTOM_ATTRIBUTES_HEADER)

    def get_request_header(self, idx: int, key: str) -> str | None:
        """A header of request ``idx`` of the batch (0 when not batching), case-insensitive."""
        if idx >= len(self._requests):
            return None
        return self._requests[idx].headers.get(key.lower())

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        """All headers of request ``idx``, names lower-cased."""
        if idx >= len(self._requests):
            return {}
        return dict(self._requests[idx].headers)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        """Add a header to the response of request ``idx``."""
        self._requests[idx].response_headers[key.lower()] = value

    def set_response_content_type(self, idx: int, value: str) -> None:
        """Set the ``Content-Type`` of the response of request ``idx``."""
        self.set_response_header(idx, "content-type", value)

    def get_response_headers(self, idx: int) -> dict[str, str]:
        """Headers set so far on the response of request ``idx``."""
        return dict(self._requests[idx].response_headers)

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        """Answer request ``idx`` with status ``code`` (the body is what the handlers return)."""
        self._requests[idx].status = code
        self._requests[idx].phrase = phrase
