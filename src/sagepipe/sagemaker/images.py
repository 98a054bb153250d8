"""The PyTorch container image table, as the compiler uses it.

The table lives in the leaf module :mod:`sagepipe.images`, because the local engine needs the
same image URIs (model records, model packages) and must not import this backend.
"""

from __future__ import annotations

from sagepipe.images import (
    ImageNotFoundError,
    ImageScope,
    image_table,
    image_uri,
    processor_for,
    supported_versions,
)

__all__ = [
    "ImageNotFoundError",
    "ImageScope",
    "image_table",
    "image_uri",
    "processor_for",
    "supported_versions",
]
