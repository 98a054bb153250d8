"""A SageMaker-compatible PyTorch model server, batch transform and client.

* :func:`serve` runs the server (``sagepipe serve``): handlers as SageMaker's PyTorch
  inference toolkit loads them, SageMaker's limits, dynamic batching, N workers.
* :func:`run_transform` runs a batch transform job in-process (``sagepipe transform``).
* :class:`Predictor` is the client side, as in the SageMaker SDK (``PyTorchModel`` is
  :class:`sagepipe.pytorch.PyTorchModel`).

Importing this package is cheap: torch, NumPy and the server stack load when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagepipe.serving.errors import InferenceError, InvocationError, TransformError
    from sagepipe.serving.predictor import Predictor
    from sagepipe.serving.server import serve
    from sagepipe.serving.transform import TransformResult, run_transform

_EXPORTS = {
    "InferenceError": "sagepipe.serving.errors",
    "InvocationError": "sagepipe.serving.errors",
    "TransformError": "sagepipe.serving.errors",
    "Predictor": "sagepipe.serving.predictor",
    "serve": "sagepipe.serving.server",
    "TransformResult": "sagepipe.serving.transform",
    "run_transform": "sagepipe.serving.transform",
}

__all__ = [
    "InferenceError",
    "InvocationError",
    "Predictor",
    "TransformError",
    "TransformResult",
    "run_transform",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sagepipe.serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
