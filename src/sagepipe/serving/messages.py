"""The request and response of one invocation, as the handler chain sees them.

Kept free of torch so the HTTP layer can start serving ``/ping`` before torch is imported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

_EMPTY: Mapping[str, str] = {}


class Response:
    """What the server sends back: status, body, content type and extra headers."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] = _EMPTY,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        """A JSON error body ``{"code": ..., "message": ...}``."""
        body = json.dumps({"code": status, "message": message}).encode("utf-8")
        return cls(status, body, "application/json")


@dataclass(frozen=True)
class Invocation:
    """One request as the chain sees it (header names lower-cased).

    Attributes:
        body: The request body.
        content_type: Its Content-Type.
        accept: Its Accept (may be empty or ``*/*``; the chain applies the default).
        headers: All request headers, for handlers that take ``context``.
    """

    body: bytes
    content_type: str
    accept: str
    headers: Mapping[str, str] = field(default_factory=dict)
