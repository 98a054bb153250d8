"""Response deserializers, as the SageMaker SDK's (``sagemaker.deserializers``).

Each has ``ACCEPT`` (a tuple of media types) and ``deserialize(stream, content_type)``;
``stream`` has ``read()`` and ``close()`` (a botocore ``StreamingBody`` or ``io.BytesIO``).
NPY is loaded with ``allow_pickle=False`` unless asked otherwise.
"""

from __future__ import annotations

import csv
import io
import json
from typing import IO, Any


class BaseDeserializer:
    """A deserializer with a settable accept type (or tuple of them)."""

    def __init__(self, accept: str | tuple[str, ...]) -> None:
        self.accept = accept

    @property
    def ACCEPT(self) -> tuple[str, ...]:
        """The media types asked for in the Accept header."""
        return (self.accept,) if isinstance(self.accept, str) else self.accept

    def deserialize(self, stream: IO[bytes], content_type: str) -> Any:
        """Turn a response body into a Python object."""
        raise NotImplementedError


class BytesDeserializer(BaseDeserializer):
    """The body as bytes."""

    def __init__(self, accept: str | tuple[str, ...] = "*/*") -> None:
        super().__init__(accept)

    def deserialize(self, stream: IO[bytes], content_type: str) -> bytes:
        """Read the whole body."""
        try:
            return stream.read()
        finally:
            stream.close()


class StringDeserializer(BaseDeserializer):
    """The body decoded as text."""

    def __init__(
        self, encoding: str = "UTF-8", accept: str | tuple[str, ...] = "application/json"
    ) -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: IO[bytes], content_type: str) -> str:
        """Read and decode the body."""
        try:
            return stream.read().decode(self.encoding)
        finally:
            stream.close()


class JSONDeserializer(BaseDeserializer):
    """The body parsed as JSON."""

    def __init__(self, accept: str | tuple[str, ...] = "application/json") -> None:
        super().__init__(accept)

    def deserialize(self, stream: IO[bytes], content_type: str) -> Any:
        """Parse the JSON body."""
        try:
            return json.loads(stream.read().decode("utf-8"))
        finally:
            stream.close()


class CSVDeserializer(BaseDeserializer):
    """The body as a list of rows of strings."""

    def __init__(self, encoding: str = "utf-8", accept: str | tuple[str, ...] = "text/csv") -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: IO[bytes], content_type: str) -> list[list[str]]:
        """Parse the CSV body."""
        try:
            return list(csv.reader(stream.read().decode(self.encoding).splitlines()))
        finally:
            stream.close()


class NumpyDeserializer(BaseDeserializer):
    """An array from an NPY, CSV or JSON body (by the response's content type)."""

    def __init__(
        self,
        dtype: str | None = None,
        accept: str | tuple[str, ...] = "application/x-npy",
        allow_pickle: bool = False,
    ) -> None:
        super().__init__(accept)
        self.dtype = dtype
        self.allow_pickle = allow_pickle

    def deserialize(self, stream: IO[bytes], content_type: str) -> Any:
        """Load the body as an array.

        Raises:
            ValueError: the content type is not NPY, CSV or JSON.
        """
        import numpy as np

        try:
            data = stream.read()
        finally:
            stream.close()
        kind = content_type.split(";", 1)[0].strip()
        if kind == "application/x-npy":
            return np.load(io.BytesIO(data), allow_pickle=self.allow_pickle)
        if kind == "text/csv":
            return np.genfromtxt(io.StringIO(data.decode("utf-8")), delimiter=",", dtype=self.dtype)
        if kind == "application/json":
            return np.array(json.loads(data), dtype=self.dtype)
        raise ValueError(f"NumpyDeserializer cannot read content type {content_type!r}")
