"""Request serializers, as the SageMaker SDK's (``sagemaker.serializers``).

Each has ``CONTENT_TYPE`` and ``serialize(data) -> bytes | str``. NumPy is imported only
when an array is serialized.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any


class BaseSerializer:
    """A serializer with a settable content type."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type

    @property
    def CONTENT_TYPE(self) -> str:
        """The Content-Type sent with requests."""
        return self.content_type

    def serialize(self, data: Any) -> bytes | str:
        """Serialize ``data`` into the request body."""
        raise NotImplementedError


class IdentitySerializer(BaseSerializer):
    """Send bytes (or str) as they are."""

    def __init__(self, content_type: str = "application/octet-stream") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes | str:
        """Return ``data`` unchanged."""
        if not isinstance(data, (bytes, str)):
            raise TypeError(f"IdentitySerializer sends bytes or str, not {type(data).__name__}")
        return data


class JSONSerializer(BaseSerializer):
    """JSON; arrays (and arrays in a dict) become lists; file-like objects are read."""

    def __init__(self, content_type: str = "application/json") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes | str:
        """Serialize ``data`` to a JSON string."""
        if hasattr(data, "read"):
            return data.read()  # type: ignore[no-any-return]
        if isinstance(data, dict):
            return json.dumps({k: _to_list(v) for k, v in data.items()})
        return json.dumps(_to_list(data))


class CSVSerializer(BaseSerializer):
    """CSV: a row per inner sequence (rows joined with newlines), or one row."""

    def __init__(self, content_type: str = "text/csv") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes | str:
        """Serialize a list, a list of rows, an array or a string."""
        if hasattr(data, "read"):
            return data.read()  # type: ignore[no-any-return]
        if isinstance(data, str):
            return data
        rows = _to_list(data)
        if isinstance(rows, list) and rows and isinstance(rows[0], (list, tuple)):
            return "\n".join(self._row(row) for row in rows)
        return self._row(rows)

    @staticmethod
    def _row(row: Any) -> str:
        if isinstance(row, str):
            return row
        if not isinstance(row, (list, tuple)) or not row:
            raise ValueError(f"cannot serialize {row!r} as a CSV row")
        buffer = io.StringIO()
        csv.writer(buffer).writerow(row)
        return buffer.getvalue().rstrip("\r\n")


class NumpySerializer(BaseSerializer):
    """NPY (``np.save``); lists become arrays of ``dtype``; file-like objects are read."""

    def __init__(self, dtype: str | None = None, content_type: str = "application/x-npy") -> None:
        super().__init__(content_type)
        self.dtype = dtype

    def serialize(self, data: Any) -> bytes | str:
        """Serialize an array, a list or a file-like object holding NPY."""
        import numpy as np

        if hasattr(data, "read"):
            return data.read()  # type: ignore[no-any-return]
        array = np.asarray(data, dtype=self.dtype)
        if array.size == 0:
            raise ValueError("cannot serialize an empty array")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()


def _to_list(value: Any) -> Any:
    to_list = getattr(value, "tolist", None)
    return to_list() if to_list is not None else value
